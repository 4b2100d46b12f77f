//! Generated code, compiled through the build-script path, against every fixture: every
//! layout (tables, node arrays and nested `if`/`else`), every batch kernel, and one row at a
//! time.

#[path = "../../support/fixtures.rs"]
mod fixtures;

use std::path::Path;
use std::str::FromStr;
use timber_buildscript_tests::{Compiled, Scorer};
use timber_runtime::kernel::{with_kernel, Kernel};
use timber_runtime::Model;

/// Scores a case's rows through the batch API with every batch kernel, then one row at a
/// time, and checks each result against the references.
fn check_model<M: Model + ?Sized>(model: &M, case: &fixtures::Case, what: &str) -> Vec<String>
where
    M::Output: FromStr,
{
    let info = model.info();
    let rows: Vec<Vec<M::Input>> = fixtures::read_rows(&case.input, info);
    let flat: Vec<M::Input> = rows.concat();
    let split = |v: Vec<M::Output>, n: usize| -> Vec<Vec<M::Output>> {
        v.chunks(n).map(<[_]>::to_vec).collect()
    };
    let mut failures = Vec::new();
    for kernel in [Kernel::Auto, Kernel::Avx2, Kernel::Scalar] {
        let mut pred = vec![M::Output::default(); rows.len() * info.num_outputs];
        let mut margin = vec![M::Output::default(); rows.len() * info.num_margins];
        with_kernel(kernel, || {
            model.predict_batch(&flat, &mut pred);
            model.predict_margin_batch(&flat, &mut margin);
        });
        failures.extend(fixtures::check_case(
            case,
            &format!("{what}, {kernel:?} batch kernel"),
            &split(pred, info.num_outputs),
            &split(margin, info.num_margins),
        ));
    }
    let (pred, margin) = fixtures::score_rows(model, &rows);
    failures.extend(fixtures::check_case(
        case,
        &format!("{what}, one row at a time"),
        &pred,
        &margin,
    ));
    failures
}

#[test]
fn generated_code_is_bit_exact_on_every_fixture_and_model_file_in_every_layout_and_kernel() {
    let compiled = timber_buildscript_tests::all();
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures::all(env!("CARGO_MANIFEST_DIR")) {
        for file in fixture.models() {
            for case in fixture.cases_for(&file) {
                let models: Vec<&Compiled> = compiled
                    .iter()
                    .filter(|c| {
                        c.fixture == fixture.name
                            && c.kind == file.kind
                            && c.all_trees == case.all_trees
                    })
                    .collect();
                let mut layouts: Vec<&str> = models.iter().map(|c| c.layout).collect();
                layouts.sort_unstable();
                assert_eq!(
                    layouts,
                    ["Auto", "Nested", "Nodes", "Quick", "Tables"],
                    "{} ({}) was not compiled by build.rs in every layout",
                    case.label,
                    file.kind
                );
                for found in models {
                    let what = format!("compiled {}, {} layout", file.kind, found.layout);
                    failures.extend(match found.model {
                        Scorer::F32(m) => check_model(m, &case, &what),
                        Scorer::F64(m) => check_model(m, &case, &what),
                        Scorer::F32InF64Sum(m) => check_model(m, &case, &what),
                    });
                }
                checked += 1;
            }
        }
    }
    fixtures::assert_all_matched(&failures, checked);
}

/// A fixture's model file compiled in the default layout.
fn find(fixture: &str, kind: &str) -> Compiled {
    find_in(fixture, kind, "Auto")
}

/// A fixture's model file compiled in `layout` (`Auto`, `Nodes` or `Nested`), best
/// iteration.
fn find_in(fixture: &str, kind: &str, layout: &str) -> Compiled {
    timber_buildscript_tests::all()
        .into_iter()
        .find(|c| c.fixture == fixture && c.kind == kind && !c.all_trees && c.layout == layout)
        .unwrap_or_else(|| panic!("{fixture} {kind} {layout}"))
}

/// Which layouts build.rs wrote for a compiled model: (some trees as tables, some as bit
/// vectors, some as node arrays, some nested).
fn layouts_used(c: &Compiled) -> (bool, bool, bool, bool) {
    let dir = Path::new(env!("OUT_DIR")).join(c.output);
    (
        dir.join("tables.bin").is_file(),
        dir.join("quick.bin").is_file(),
        dir.join("nodes.bin").is_file(),
        dir.join("chunk_000.rs").is_file(),
    )
}

#[test]
fn each_layout_holds_the_trees_it_should() {
    for c in timber_buildscript_tests::all() {
        let (tables, quick, nodes, nested) = layouts_used(&c);
        match c.layout {
            "Nested" => assert!(!tables && !quick && !nodes && nested, "{}", c.output),
            "Nodes" => assert!(!tables && !quick && nodes && !nested, "{}", c.output),
            "Quick" => assert!(!tables && !nested, "{}", c.output),
            "Tables" => assert!(!quick && !nested, "{}", c.output),
            // Never tables for f32-input/f64-sum models (the tables read and sum in one
            // float type); never nested code.
            _ => {
                assert!(!nested, "{}: nested code in the default layout", c.output);
                if matches!(c.model, Scorer::F32InF64Sum(_)) {
                    assert!(!tables, "{}: tables", c.output);
                }
            }
        }
    }
    let expect = |fixture: &str, kind: &str, want: (bool, bool, bool, bool)| {
        let c = find_in(fixture, kind, "Auto");
        assert_eq!(
            layouts_used(&c),
            want,
            "{} (tables?, bit vectors?, nodes?, nested?)",
            c.output
        );
    };
    // Plain numerical trees, f32 (XGBoost, every format) and f64 (LightGBM): all tables.
    for (fixture, kind) in [
        ("small", "json"),
        ("bench500", "json"),
        ("multi", "json"),
        ("dart", "ubj"),
        ("reg_squarederror", "dump"),
        ("lgb_regression", "txt"),
        ("lgb_multiclass", "json"),
        ("lgb_missing_none", "txt"),
        ("lgb_stump", "txt"),
    ] {
        expect(fixture, kind, (true, false, false, false));
    }
    // Mixed: tables for the plain trees, node arrays for the categorical ones, in model
    // order.
    expect("categorical_small", "json", (true, false, true, false));
    // Leaf-wise trees too deep to pad and of at most 64 leaves: bit vectors.
    expect("lgb_multiclassova", "txt", (true, true, false, false));
    // All node arrays: categorical splits (both codings), zero-as-missing splits, linear
    // leaves, scikit-learn's vector leaves (f32 in, f64 sums), a chain of more than 64
    // leaves.
    for (fixture, kind) in [
        ("deep_chain", "json"),
        ("categorical_large", "json"),
        ("lgb_categorical", "txt"),
        ("lgb_missing_zero", "txt"),
        ("lgb_linear", "txt"),
        ("lgb_linear_binary", "json"),
        ("lgb_tiny", "txt"),
        ("sk_rf_classifier", "json"),
    ] {
        expect(fixture, kind, (false, false, true, false));
    }
}

#[test]
fn metadata_describes_the_source_model() {
    let Scorer::F32(model) = find("named_features", "json").model else {
        panic!("named_features is an f32 model");
    };
    let info = model.info();
    assert_eq!(info.format, "xgboost-json");
    assert!(
        info.source.ends_with("named_features/model.json"),
        "{}",
        info.source
    );
    assert_eq!(info.source_sha256.len(), 64);
    assert_eq!(info.features[0].name, "age");
}

#[test]
fn each_library_compiles_to_its_own_types() {
    let Scorer::F64(lgb) = find("lgb_categorical", "txt").model else {
        panic!("LightGBM models read and sum f64");
    };
    assert_eq!(lgb.info().format, "lightgbm-text");
    assert_eq!(lgb.info().precision, "f64");
    assert_eq!(lgb.info().features[3].categories[0], "red");
    let Scorer::F32InF64Sum(sk) = find("sk_rf_named", "json").model else {
        panic!("scikit-learn models read f32 and sum f64");
    };
    assert_eq!(sk.info().format, "sklearn-json");
    assert_eq!(sk.info().precision, "f32/f64");
    assert_eq!(sk.info().features[1].name, "income");
    let Scorer::F32(dump) = find("categorical_small", "dump").model else {
        panic!("XGBoost dumps are f32 models");
    };
    assert_eq!(dump.info().format, "xgboost-dump");
}
