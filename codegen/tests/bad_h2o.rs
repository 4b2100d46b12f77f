//! Bad H2O MOJO archives: damaged real fixture zips give an error naming the file, the
//! archive entry or `model.ini` key, and what is wrong; never a panic.

mod common;

use common::*;
use std::io::{Cursor, Read, Write};
use timber_codegen::{LoadError, LoadOptions};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// A fixture's archive rebuilt with `edit` applied to each entry (`None` drops it) and
/// `extra` entries added.
fn rezip(
    fixture: &str,
    mut edit: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, &[u8])],
) -> Vec<u8> {
    let bytes = fixture_file(fixture, "model.zip");
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        if let Some(content) = edit(&name, content) {
            out.start_file(name, options).unwrap();
            out.write_all(&content).unwrap();
        }
    }
    for (name, content) in extra {
        out.start_file(*name, options).unwrap();
        out.write_all(content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The fixture with the bytes of its entry `entry` changed by `f`.
fn with_entry(fixture: &str, entry: &str, f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    rezip(
        fixture,
        |name, mut content| {
            if name == entry {
                f(&mut content);
            }
            Some(content)
        },
        &[],
    )
}

/// The fixture without its entry `entry`.
fn without_entry(fixture: &str, entry: &str) -> Vec<u8> {
    rezip(fixture, |name, c| (name != entry).then_some(c), &[])
}

/// The fixture with `model.ini` rewritten by `f`.
fn with_ini(fixture: &str, f: impl Fn(&str) -> String) -> Vec<u8> {
    with_entry(fixture, "model.ini", |content| {
        *content = f(std::str::from_utf8(content).unwrap()).into_bytes();
    })
}

/// The fixture with `model.ini`'s `key = ...` line replaced by `key = value`.
fn with_value(fixture: &str, key: &str, value: &str) -> Vec<u8> {
    with_key_line(fixture, key, &format!("{key} = {value}"))
}

/// The fixture with `model.ini`'s `key = ...` line replaced by `line` (or removed when
/// `line` is empty).
fn with_key_line(fixture: &str, key: &str, line: &str) -> Vec<u8> {
    let prefix = format!("{key} = ");
    with_ini(fixture, |ini| {
        assert!(
            ini.lines().any(|l| l.starts_with(&prefix)),
            "{key} in {fixture}"
        );
        ini.lines()
            .map(|l| if l.starts_with(&prefix) { line } else { l })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The fixture with a line added to `[info]`.
fn with_extra_key(fixture: &str, line: &str) -> Vec<u8> {
    with_ini(fixture, |ini| {
        ini.replacen("[info]\n", &format!("[info]\n{line}\n"), 1)
    })
}

#[test]
fn the_fixtures_themselves_load_and_rezipping_keeps_them() {
    let original = load(&fixture_file("h2o_gbm_bernoulli", "model.zip")).unwrap();
    let rezipped = load(&rezip("h2o_gbm_bernoulli", |_, c| Some(c), &[])).unwrap();
    assert_eq!(original.trees, rezipped.trees);
    assert_eq!(original.origin.format, "h2o-mojo");
}

#[test]
fn truncated_archives_are_errors() {
    let bytes = fixture_file("h2o_gbm_categorical", "model.zip");
    let cuts = every_truncation_fails(&bytes, 997, &LoadOptions::default());
    assert!(cuts > 20);
    let message = malformed(load(&bytes[..bytes.len() / 2]));
    assert_contains(
        &message,
        &["not a readable zip archive", "a truncated or damaged MOJO?"],
    );
    // Damage inside the compressed data of an entry (the checksum catches it).
    let mut damaged = bytes.clone();
    let at = bytes.windows(9).position(|w| w == b"model.ini").unwrap() + 40;
    for b in &mut damaged[at..at + 16] {
        *b ^= 0x5a;
    }
    let message = error(load(&damaged));
    assert!(!message.is_empty());
}

#[test]
fn a_zip_without_model_ini_is_not_an_h2o_model() {
    let bytes = without_entry("h2o_gbm_gaussian", "model.ini");
    let message = unknown_format(load(&bytes));
    assert_contains(&message, &["a zip archive with a `model.ini` entry"]);
}

#[test]
fn a_missing_tree_file_is_an_error_when_its_companion_is_there() {
    let bytes = without_entry("h2o_gbm_bernoulli", "trees/t00_003.bin");
    assert_contains(
        &malformed(load(&bytes)),
        &[
            "trees/t00_003.bin: missing",
            "trees/t00_003_aux.bin is there",
            "damaged",
        ],
    );
    // Without its aux file the tree is absent, as H2O skips trees it did not build.
    let bytes = rezip(
        "h2o_gbm_bernoulli",
        |name, c| (!name.starts_with("trees/t00_003")).then_some(c),
        &[],
    );
    let full = load(&fixture_file("h2o_gbm_bernoulli", "model.zip")).unwrap();
    assert_eq!(load(&bytes).unwrap().trees.len(), full.trees.len() - 1);
    // No tree at all is an error.
    let bytes = rezip(
        "h2o_gbm_bernoulli",
        |name, c| (!name.starts_with("trees/")).then_some(c),
        &[],
    );
    assert_contains(&malformed(load(&bytes)), &["none of the 30 tree files"]);
    // A tree of an iteration the model does not have.
    let bytes = rezip(
        "h2o_gbm_bernoulli",
        |_, c| Some(c),
        &[("trees/t00_030.bin", &[0, 0xff, 0xff, 0, 0, 0, 0])],
    );
    assert_contains(
        &malformed(load(&bytes)),
        &["trees/t00_030.bin: the model has 1 trees per iteration and 30 iterations"],
    );
}

/// A change to a tree file's bytes.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn corrupt_tree_bytes_name_the_file_and_byte() {
    // trees/t00_003.bin of h2o_gbm_bernoulli starts with a numerical split: node type 0x00,
    // column 23, NA direction 2, an f32 split value, a one-byte left size (54), then the
    // left subtree (a split whose right child is a leaf).
    let tree = "trees/t00_003.bin";
    let cases: Vec<(Damage, &[&str])> = vec![
        (
            Box::new(|t| t.truncate(40)),
            &["byte ", "the tree ends early"],
        ),
        (
            Box::new(|t| t.push(0)),
            &["byte 103: 1 bytes after the end of the tree"],
        ),
        (
            Box::new(|t| t[3] = 0),
            &["byte 0: NA split direction 0 (expected 1 to 5)"],
        ),
        (Box::new(|t| t[3] = 9), &["byte 0: NA split direction 9"]),
        (Box::new(|t| t[0] = 0x04), &["byte 0: an equality split"]),
        (
            Box::new(|t| t[1] = 99),
            &["byte 0: column 99 is out of range (the model has 30 predictors)"],
        ),
        (
            Box::new(|t| t[8] = 53),
            &["byte 9: the left subtree takes 54 bytes, but its split records 53"],
        ),
        (
            Box::new(|t| t[0] = 0x10),
            &["byte 0: node type 0x10: left mask 0x10"],
        ),
        (
            Box::new(|t| t[0] = 0x80),
            &["byte 0: node type 0x80: right mask 0x20"],
        ),
        (
            Box::new(|t| t[4..8].copy_from_slice(&f32::NAN.to_le_bytes())),
            &["byte 0: split value NaN is not a finite number"],
        ),
        (
            Box::new(|t| {
                let n = t.len();
                t[n - 4..].copy_from_slice(&f32::INFINITY.to_le_bytes())
            }),
            &["byte 99: leaf value inf is not a finite number"],
        ),
        (
            Box::new(|t| {
                t[9] = 0;
                t[10] = 0xff;
                t[11] = 0xff;
            }),
            &["byte 9: the stump marker (column 65535) below the root"],
        ),
        (
            // NA-vs-rest with a threshold payload: H2O writes none.
            Box::new(|t| {
                t[0] = 0x08;
                t[3] = 1;
            }),
            &["byte 0: an NA-vs-rest split with split kind 0x8"],
        ),
    ];
    for (damage, needles) in cases {
        let message = malformed(load(&with_entry("h2o_gbm_bernoulli", tree, damage)));
        assert_contains(&message, &[&format!("{tree}: ")]);
        assert_contains(&message, needles);
    }
    // Big bitsets: a bit count of 0 or below.
    let tree = "trees/t00_000.bin";
    let bytes = fixture_file("h2o_gbm_categorical", "model.zip");
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut content = Vec::new();
    archive
        .by_name(tree)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    assert_eq!(content[0] & 0x0c, 0x0c, "the root is a big bitset split");
    let message = malformed(load(&with_entry("h2o_gbm_categorical", tree, |t| {
        t[6..10].copy_from_slice(&0i32.to_le_bytes())
    })));
    assert_contains(&message, &[tree, "byte 0: bitset of 0 bits"]);
}

#[test]
fn other_algorithms_are_named() {
    for (algorithm, algo) in [
        ("Generalized Linear Modeling", "glm"),
        ("Deep Learning", "deeplearning"),
        ("XGBoost", "xgboost"),
        ("Isolation Forest", "isolationforest"),
        ("StackedEnsemble", "stackedensemble"),
        ("Something New", "new"),
    ] {
        let bytes = with_ini("h2o_gbm_gaussian", |ini| {
            ini.replace(
                "algorithm = Gradient Boosting Machine",
                &format!("algorithm = {algorithm}"),
            )
            .replace("algo = gbm", &format!("algo = {algo}"))
        });
        assert_contains(
            &malformed(load(&bytes)),
            &[
                &format!(
                    "model.ini: `algorithm` = `{algorithm}` (`algo` = {algo}) is not supported"
                ),
                "GBM and DRF",
            ],
        );
    }
    let bytes = with_key_line("h2o_gbm_gaussian", "algorithm", "");
    assert_contains(&malformed(load(&bytes)), &["model.ini: no `algorithm`"]);
}

#[test]
fn unsupported_distributions_and_links_are_refused_unless_margins_are_asked_for() {
    for (key, value, name) in [
        ("distribution", "ordinal", "distribution ordinal"),
        ("distribution", "custom", "distribution custom"),
        (
            "distribution",
            "negativebinomial",
            "distribution negativebinomial",
        ),
        ("link_function", "inverse", "link inverse"),
        ("link_function", "logit", "link logit"),
    ] {
        let bytes = with_value("h2o_gbm_gaussian", key, value);
        let line = format!("{key} = {value}");
        match load(&bytes) {
            Err(e @ LoadError::UnknownObjective { .. }) => assert_contains(
                &e.to_string(),
                &["bad.model: unsupported objective", name, "--margin"],
            ),
            other => panic!("{line}: expected UnknownObjective, got {other:?}"),
        }
        // Raw margins: the trees' sum and init_f, as for a supported distribution.
        let options = LoadOptions {
            margin_only: true,
            ..LoadOptions::default()
        };
        let margins = load_with(&bytes, &options).unwrap();
        let plain = load(&fixture_file("h2o_gbm_gaussian", "model.zip")).unwrap();
        assert_eq!(margins.trees, plain.trees, "{line}");
    }
    // A binomial model with a regression distribution.
    let bytes = with_value("h2o_gbm_bernoulli", "distribution", "gaussian");
    assert!(matches!(
        load(&bytes),
        Err(LoadError::UnknownObjective { .. })
    ));
}

#[test]
fn keys_that_change_h2o_scores_are_refused_by_name() {
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (
            with_extra_key("h2o_gbm_bernoulli", "calib_method = platt"),
            &["model.ini: `calib_method` = `platt`: calibrated models are not supported"],
        ),
        (
            with_extra_key("h2o_gbm_gaussian", "offset_column = off"),
            &["model.ini: `offset_column` = `off`: models trained with an offset column"],
        ),
        (
            with_value(
                "h2o_gbm_categorical",
                "_genmodel_encoding",
                "OneHotExplicit",
            ),
            &["`_genmodel_encoding` = `OneHotExplicit`"],
        ),
        (
            with_value("h2o_gbm_gaussian", "mojo_version", "1.50"),
            &["`mojo_version` = `1.50` is not a MOJO version Timber reads (1.00 to 1.40"],
        ),
        (
            with_value("h2o_gbm_gaussian", "mojo_version", "1.25"),
            &["`mojo_version` = `1.25`"],
        ),
        (
            with_value("h2o_gbm_gaussian", "endianness", "BIG_ENDIAN"),
            &["`endianness` = `BIG_ENDIAN`: only little-endian"],
        ),
        (
            with_value("h2o_gbm_gaussian", "supervised", "false"),
            &["`supervised` is not true"],
        ),
        (
            with_value("h2o_gbm_gaussian", "category", "AnomalyDetection"),
            &["`category` = `AnomalyDetection`: only Binomial, Multinomial and Regression"],
        ),
        (
            with_value("h2o_gbm_multinomial", "n_trees_per_class", "1"),
            &["`n_trees_per_class` = 1, but a Multinomial Gbm model with 3 classes has 3"],
        ),
        (
            with_value("h2o_drf_binomial", "n_trees", "0"),
            &["`n_trees` = 0: the model has no trees"],
        ),
        (
            with_value("h2o_gbm_gaussian", "n_features", "400"),
            &["`n_features` = 400 does not fit the 11 columns"],
        ),
        (
            with_value("h2o_gbm_gaussian", "init_f", "NaN"),
            &["`init_f` = `NaN` is not a finite number"],
        ),
        (
            with_value("h2o_gbm_balance_classes", "prior_class_distrib", "[0.5]"),
            &["need 2 values (one per class)"],
        ),
        (
            with_value("h2o_gbm_multinomial", "n_classes", "4"),
            &["`n_classes` = 4, but the response has 3 levels"],
        ),
        (
            with_value("h2o_gbm_gaussian", "n_columns", "3"),
            &["model.ini: line ", "more columns than `n_columns` = 3"],
        ),
    ];
    for (bytes, needles) in cases {
        assert_contains(&malformed(load(&bytes)), needles);
    }
}

#[test]
fn domain_files_must_be_there_and_have_their_levels() {
    let missing = without_entry("h2o_gbm_categorical", "domains/d001.txt");
    assert_contains(
        &malformed(load(&missing)),
        &["domains/d001.txt: missing (model.ini lists it for column 3)"],
    );
    let short = with_entry("h2o_gbm_categorical", "domains/d000.txt", |c| {
        *c = b"blue\nred\n".to_vec()
    });
    assert_contains(
        &malformed(load(&short)),
        &["domains/d000.txt: 2 levels, but model.ini says 6"],
    );
    let not_utf8 = with_entry("h2o_gbm_categorical", "domains/d000.txt", |c| {
        *c = vec![0xff, b'\n']
    });
    assert_contains(
        &malformed(load(&not_utf8)),
        &["domains/d000.txt: not UTF-8"],
    );
}

#[test]
fn model_ini_damage_names_the_line() {
    let bytes = with_ini("h2o_gbm_gaussian", |ini| {
        ini.replace("n_trees = 30", "n_trees 30")
    });
    assert_contains(
        &malformed(load(&bytes)),
        &["model.ini: line ", "`n_trees 30` is not `key = value`"],
    );
    let bytes = with_ini("h2o_gbm_gaussian", |ini| {
        ini.replace("n_trees = 30", "n_trees = many")
    });
    assert_contains(
        &malformed(load(&bytes)),
        &["`n_trees` = `many` is not a count"],
    );
}
