//! Each frontend reads the cover its format records (the training data that reached each
//! node), which the node layout uses to order nodes; a cover that does not fit its tree is
//! dropped, never an error (predictions do not depend on it).

use timber_codegen::load::load_bytes;
use timber_codegen::LoadOptions;

fn fixture(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    std::fs::read_to_string(root.join(path)).expect("fixture")
}

fn numbers(words: &str) -> Vec<f64> {
    words
        .split_whitespace()
        .map(|w| w.parse().expect("a number"))
        .collect()
}

#[test]
fn xgboost_cover_is_sum_hessian() {
    let text = fixture("small/model.json");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let trees = &json["learner"]["gradient_booster"]["model"]["trees"];
    let forest = load_bytes(text.as_bytes(), "small/model.json", &LoadOptions::default()).unwrap();
    for (t, tree) in forest.trees.iter().enumerate() {
        let want: Vec<f64> = trees[t]["sum_hessian"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(tree.cover.as_ref(), Some(&want), "tree {t}");
    }
    // A `sum_hessian` one entry short: the model loads, without a cover for that tree.
    let mut json = json;
    let short = &mut json["learner"]["gradient_booster"]["model"]["trees"][0]["sum_hessian"];
    short.as_array_mut().unwrap().pop();
    let text = serde_json::to_vec(&json).unwrap();
    let forest = load_bytes(&text, "short.json", &LoadOptions::default()).unwrap();
    assert_eq!(forest.trees[0].cover, None);
    assert!(forest.trees[1].cover.is_some());
}

#[test]
fn lightgbm_cover_is_internal_then_leaf_counts() {
    let text = fixture("lgb_tiny/model.txt");
    let forest = load_bytes(
        text.as_bytes(),
        "lgb_tiny/model.txt",
        &LoadOptions::default(),
    )
    .unwrap();
    let line = |t: usize, key: &str| {
        let section = text.split(&format!("Tree={t}\n")).nth(1).unwrap();
        let prefix = format!("{key}=");
        section
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(numbers)
            .unwrap()
    };
    assert!(!forest.trees.is_empty());
    for (t, tree) in forest.trees.iter().enumerate() {
        let mut want = line(t, "internal_count");
        want.extend(line(t, "leaf_count"));
        assert_eq!(tree.cover.as_ref(), Some(&want), "tree {t}");
    }
    // Without the counts (as some writers leave them out), no cover.
    let bare: String = text
        .lines()
        .filter(|l| !l.starts_with("internal_count=") && !l.starts_with("leaf_count="))
        .map(|l| format!("{l}\n"))
        .collect();
    let forest = load_bytes(bare.as_bytes(), "bare.txt", &LoadOptions::default()).unwrap();
    assert!(forest.trees.iter().all(|t| t.cover.is_none()));
}

/// An NPY 1.0 file of `values` (`<f8`, one dimension), as numpy writes it.
fn npy(values: &[f64]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // The header ends in a newline and pads the data to a multiple of 64 bytes.
    let padded = (10 + dict.len() + 1).div_ceil(64) * 64 - 10;
    let header = format!("{dict:<width$}\n", width = padded - 1);
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    values.iter().for_each(|v| out.extend(v.to_le_bytes()));
    out
}

/// The zip archive `bytes` with entry `name` added.
fn with_entry(bytes: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        out.raw_copy_file(archive.by_index(i).unwrap()).unwrap();
    }
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    out.start_file(name, stored).unwrap();
    out.write_all(data).unwrap();
    out.finish().unwrap().into_inner()
}

#[test]
fn scikit_learn_cover_is_read_from_npz_and_json_exports() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let npz = std::fs::read(root.join("sk_rf_full_classifier/model.npz")).unwrap();
    let options = LoadOptions::default();
    // The committed export predates the cover: no cover, as for any older export.
    let plain = load_bytes(&npz, "model.npz", &options).unwrap();
    assert!(plain.trees.iter().all(|t| t.cover.is_none()));
    let total: usize = plain.trees.iter().map(|t| t.nodes.len()).sum();
    let cover: Vec<f64> = (0..total).map(|i| (i % 97) as f64).collect();
    let with = load_bytes(
        &with_entry(&npz, "cover.npy", &npy(&cover)),
        "c.npz",
        &options,
    )
    .unwrap();
    let mut at = 0;
    for (t, tree) in with.trees.iter().enumerate() {
        let want = &cover[at..at + tree.nodes.len()];
        assert_eq!(tree.cover.as_deref(), Some(want), "tree {t}");
        at += tree.nodes.len();
    }
    // Everything but the cover is as without it.
    for (w, p) in with.trees.iter().zip(&plain.trees) {
        assert_eq!(&w.clone().with_cover(None), p);
    }
    // A cover of the wrong length is dropped.
    let short = with_entry(&npz, "cover.npy", &npy(&cover[1..]));
    let dropped = load_bytes(&short, "short.npz", &options).unwrap();
    assert!(dropped.trees.iter().all(|t| t.cover.is_none()));

    let json = fixture("sk_rf_full_classifier/model.json");
    let mut doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for tree in doc["trees"].as_array_mut().unwrap() {
        let n = tree["children_left"].as_array().unwrap().len();
        tree["cover"] = serde_json::json!((0..n).map(|i| i as f64 * 2.0).collect::<Vec<_>>());
    }
    let text = serde_json::to_vec(&doc).unwrap();
    let forest = load_bytes(&text, "model.json", &options).unwrap();
    for tree in &forest.trees {
        let want: Vec<f64> = (0..tree.nodes.len()).map(|i| i as f64 * 2.0).collect();
        assert_eq!(tree.cover.as_ref(), Some(&want));
    }
}

#[test]
fn lightgbm_json_dump_has_the_text_files_cover_in_pre_order() {
    let load = |file: &str| {
        let text = fixture(&format!("lgb_tiny/{file}"));
        load_bytes(text.as_bytes(), file, &LoadOptions::default()).unwrap()
    };
    let (from_text, from_json) = (load("model.txt"), load("model.json"));
    assert_eq!(from_text.trees.len(), from_json.trees.len());
    for (t, (a, b)) in from_text.trees.iter().zip(&from_json.trees).enumerate() {
        let sorted = |tree: &timber_codegen::ir::Tree| {
            let mut c = tree.cover.clone().expect("a cover");
            c.sort_by(f64::total_cmp);
            c
        };
        // The same counts, node 0 (the root) first in both; the other nodes in each
        // format's own order.
        assert_eq!(sorted(a), sorted(b), "tree {t}");
        assert_eq!(a.cover.as_ref().unwrap()[0], b.cover.as_ref().unwrap()[0]);
    }
}

#[test]
fn xgboost_ubjson_has_the_json_files_cover() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/multi_softprob");
    let load = |file: &str| {
        let bytes = std::fs::read(root.join(file)).unwrap();
        load_bytes(&bytes, file, &LoadOptions::default()).unwrap()
    };
    let (json, ubj) = (load("model.json"), load("model.ubj"));
    assert!(json.trees.iter().all(|t| t.cover.is_some()));
    let covers = |f: &timber_codegen::ir::Forest| {
        f.trees.iter().map(|t| t.cover.clone()).collect::<Vec<_>>()
    };
    assert_eq!(covers(&json), covers(&ubj));
}

#[test]
fn xgboost_dump_cover_is_read_when_dumped_with_stats() {
    let text = fixture("binary_logistic/model_dump.json");
    let mut options = LoadOptions::default();
    options.dump.objective = Some("binary:logistic".into());
    options.dump.base_score = Some("4.335E-1".into());
    let plain = load_bytes(text.as_bytes(), "model_dump.json", &options).unwrap();
    // This fixture was dumped without stats: no cover.
    assert!(plain.trees.iter().all(|t| t.cover.is_none()));
    // `with_stats=True` adds `"cover"` to every node: give node `i` of tree `t` the cover
    // `1000 t + i`.
    let mut dump: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (t, root) in dump.as_array_mut().unwrap().iter_mut().enumerate() {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let id = node["nodeid"].as_u64().unwrap() as f64;
            node["cover"] = serde_json::json!(1000.0 * t as f64 + id);
            if let Some(children) = node.get_mut("children").and_then(|c| c.as_array_mut()) {
                stack.extend(children.iter_mut());
            }
        }
    }
    let text = serde_json::to_vec(&dump).unwrap();
    let with = load_bytes(&text, "model_dump.json", &options).unwrap();
    for (t, tree) in with.trees.iter().enumerate() {
        let want: Vec<f64> = (0..tree.nodes.len())
            .map(|i| 1000.0 * t as f64 + i as f64)
            .collect();
        assert_eq!(tree.cover.as_ref(), Some(&want), "tree {t}");
        assert_eq!(&tree.clone().with_cover(None), &plain.trees[t]);
    }
}
