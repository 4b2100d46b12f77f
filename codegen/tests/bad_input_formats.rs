//! Bad input in the formats beyond XGBoost JSON (UBJSON, XGBoost dumps, LightGBM text and
//! JSON, scikit-learn JSON): damaged real fixture files give an error naming the file and the
//! field, never a panic.

use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use timber_codegen::ir::Forest;
use timber_codegen::load::load_bytes;
use timber_codegen::{LoadError, LoadOptions};

const NAME: &str = "bad.model";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture_file(fixture: &str, file: &str) -> Vec<u8> {
    std::fs::read(workspace().join("models").join(fixture).join(file)).unwrap()
}

fn fixture_text(fixture: &str, file: &str) -> String {
    String::from_utf8(fixture_file(fixture, file)).unwrap()
}

fn fixture_json(fixture: &str, file: &str) -> Value {
    serde_json::from_slice(&fixture_file(fixture, file)).unwrap()
}

/// Loads bytes as `bad.model`, turning a panic into a test failure that says so.
fn load_with(bytes: &[u8], options: &LoadOptions) -> Result<Forest, LoadError> {
    match catch_unwind(AssertUnwindSafe(|| load_bytes(bytes, NAME, options))) {
        Ok(result) => result,
        Err(_) => panic!("load_bytes panicked instead of returning an error"),
    }
}

fn load(bytes: &[u8]) -> Result<Forest, LoadError> {
    load_with(bytes, &LoadOptions::default())
}

fn load_value(v: &Value) -> Result<Forest, LoadError> {
    load(&serde_json::to_vec(v).unwrap())
}

/// The message of any load error, checked to start with the file name.
fn error(result: Result<Forest, LoadError>) -> String {
    let message = result
        .expect_err("the damaged file must not load")
        .to_string();
    assert!(message.starts_with("bad.model: "), "{message}");
    message
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected {needle:?} in the message:\n{haystack}"
        );
    }
}

/// Every cut of a file at `step`-byte intervals fails to load cleanly.
fn every_truncation_fails(bytes: &[u8], step: usize, options: &LoadOptions) -> usize {
    let mut cuts = 0;
    for end in (1..bytes.len()).step_by(step) {
        let result = load_with(&bytes[..end], options);
        assert!(result.is_err(), "a file cut at byte {end} loaded");
        cuts += 1;
    }
    cuts
}

// ---------------------------------------------------------------------------------------
// XGBoost UBJSON
// ---------------------------------------------------------------------------------------

/// Writes a JSON value as UBJSON the way XGBoost does (int64 lengths and integers, float32
/// numbers, typed containers not used), so that damaged JSON can be tested as UBJSON.
fn ubjson(v: &Value, out: &mut Vec<u8>) {
    fn len(n: usize, out: &mut Vec<u8>) {
        out.push(b'L');
        out.extend((n as i64).to_be_bytes());
    }
    match v {
        Value::Null => out.push(b'Z'),
        Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => {
                out.push(b'L');
                out.extend(i.to_be_bytes());
            }
            None => {
                out.push(b'd');
                out.extend(n.to_string().parse::<f32>().unwrap().to_be_bytes());
            }
        },
        Value::String(s) => {
            out.push(b'S');
            len(s.len(), out);
            out.extend(s.as_bytes());
        }
        Value::Array(items) => {
            out.extend(b"[#");
            len(items.len(), out);
            for item in items {
                ubjson(item, out);
            }
        }
        Value::Object(map) => {
            out.push(b'{');
            for (k, item) in map {
                len(k.len(), out);
                out.extend(k.as_bytes());
                ubjson(item, out);
            }
            out.push(b'}');
        }
    }
}

fn to_ubjson(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ubjson(v, &mut out);
    out
}

#[test]
fn re_encoded_ubjson_loads_like_the_json() {
    // The test's own encoder (untyped arrays, `}`-terminated objects) is read too.
    let v = fixture_json("tiny_reg", "model.json");
    let from_ubjson = load(&to_ubjson(&v)).unwrap();
    let from_json = load(&fixture_file("tiny_reg", "model.json")).unwrap();
    assert_eq!(from_ubjson.trees, from_json.trees);
    assert_eq!(from_ubjson.origin.format, "xgboost-ubjson");
}

#[test]
fn every_truncation_of_a_real_ubj_file_is_an_error() {
    let bytes = fixture_file("tiny_reg", "model.ubj");
    let cuts = every_truncation_fails(&bytes, 1, &LoadOptions::default());
    assert!(cuts > 3000, "{cuts}");
    assert_contains(&error(load(&bytes[..bytes.len() - 10])), &["UBJSON byte"]);
}

#[test]
fn damaged_ubjson_bytes_name_the_offset() {
    let mut bytes = fixture_file("tiny_reg", "model.ubj");
    // A count of 2^62 elements in the first typed array.
    let at = bytes.windows(3).position(|w| w == b"[$d").unwrap();
    bytes[at + 5..at + 13].copy_from_slice(&(1i64 << 62).to_be_bytes());
    assert_contains(&error(load(&bytes)), &["UBJSON byte", "elements"]);
    // An unknown type marker.
    let mut bytes = fixture_file("tiny_reg", "model.ubj");
    let at = bytes.windows(3).position(|w| w == b"SL\0").unwrap();
    bytes[at] = b'?';
    assert_contains(
        &error(load(&bytes)),
        &[&format!("UBJSON byte {at}"), "unknown type marker `?`"],
    );
}

#[test]
fn ubjson_with_a_wrong_field_names_the_field() {
    let mut v = fixture_json("tiny_reg", "model.json");
    v["learner"]["gradient_booster"]["model"]["trees"][1]["left_children"] = json!("1,3,5");
    assert_contains(
        &error(load(&to_ubjson(&v))),
        &[
            "learner.gradient_booster.model.trees[1].left_children",
            "invalid type",
        ],
    );
    let mut v = fixture_json("tiny_reg", "model.json");
    v["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert_contains(
        &error(load(&to_ubjson(&v))),
        &[
            "tree 0",
            "`split_conditions` has 6 entries but `left_children` has 7",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// XGBoost JSON dump
// ---------------------------------------------------------------------------------------

fn dump_options(objective: &str, base: &str, classes: Option<usize>) -> LoadOptions {
    LoadOptions {
        objective: Some(objective.into()),
        base_score: Some(base.into()),
        num_class: classes,
        ..LoadOptions::default()
    }
}

fn binary_dump() -> Value {
    fixture_json("binary_logistic", "model_dump.json")
}

fn load_dump(v: &Value) -> Result<Forest, LoadError> {
    load_with(
        &serde_json::to_vec(v).unwrap(),
        &dump_options("binary:logistic", "0.4335", None),
    )
}

#[test]
fn a_dump_without_its_options_says_what_to_pass() {
    let bytes = fixture_file("binary_logistic", "model_dump.json");
    assert_contains(
        &error(load(&bytes)),
        &[
            "does not record the objective",
            "--objective",
            "binary:logistic",
        ],
    );
    let no_base = LoadOptions {
        objective: Some("binary:logistic".into()),
        ..LoadOptions::default()
    };
    assert_contains(
        &error(load_with(&bytes, &no_base)),
        &[
            "does not record the base score",
            "--base-score",
            "save_config",
        ],
    );
    let multi = fixture_file("multi_softmax", "model_dump.json");
    assert_contains(
        &error(load_with(&multi, &dump_options("multi:softmax", "0", None))),
        &["number of classes", "--num-class"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "0.1,0.2", None),
        )),
        &["`base_score` has 2 values but the model has 1 outputs"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "half", None),
        )),
        &["--base-score", "`half` is not a number"],
    );
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("binary:logistic", "1", None),
        )),
        &["--base-score", "outside the domain"],
    );
    assert!(matches!(
        load_with(&bytes, &dump_options("reg:what", "0", None)),
        Err(LoadError::UnknownObjective { .. })
    ));
}

#[test]
fn dump_options_on_other_formats_are_refused() {
    for (fixture, file, format) in [
        ("binary_logistic", "model.json", "xgboost-json"),
        ("binary_logistic", "model.ubj", "xgboost-ubjson"),
        ("lgb_binary", "model.txt", "lightgbm-text"),
        ("sk_gb_binary", "model.json", "sklearn-json"),
    ] {
        let bytes = fixture_file(fixture, file);
        let options = LoadOptions {
            num_class: Some(2),
            ..LoadOptions::default()
        };
        assert_contains(
            &error(load_with(&bytes, &options)),
            &["--num-class applies only to XGBoost JSON dumps", format],
        );
    }
}

#[test]
fn truncated_dumps_are_errors() {
    let bytes = fixture_file("categorical_small", "model_dump.json");
    let options = dump_options("reg:squarederror", "1.8", None);
    let cuts = every_truncation_fails(&bytes, 97, &options);
    assert!(cuts > 100);
    assert_contains(
        &error(load_with(&bytes[..bytes.len() / 2], &options)),
        &["EOF while parsing"],
    );
}

#[test]
fn damaged_dump_nodes_name_tree_and_node() {
    let mut v = binary_dump();
    v[1]["yes"] = json!(99);
    assert_contains(
        &error(load_dump(&v)),
        &[
            "tree 1, node 0",
            "`yes` (99) and `no` (2) are not its children",
        ],
    );
    let mut v = binary_dump();
    v[1]["missing"] = json!(5);
    assert_contains(&error(load_dump(&v)), &["tree 1, node 0", "`missing` (5)"]);
    let mut v = binary_dump();
    v[2]["children"][0]["nodeid"] = json!(2);
    assert_contains(&error(load_dump(&v)), &["tree 2: node id 2 appears twice"]);
    let mut v = binary_dump();
    v[0]["children"][1]["nodeid"] = json!(1000);
    assert_contains(
        &error(load_dump(&v)),
        &["tree 0: node id 1000 is out of range"],
    );
    let mut v = binary_dump();
    v[1].as_object_mut().unwrap().remove("split");
    assert_contains(
        &error(load_dump(&v)),
        &["tree 1, node 0", "without `split`"],
    );
    let mut v = binary_dump();
    v[0]["children"][0]["children"][0]["children"][0]["leaf"] = json!("x");
    assert_contains(
        &error(load_dump(&v)),
        &["[0].children[0].children[0].children[0].leaf"],
    );
    let mut v = binary_dump();
    v[0]["split_condition"] = json!([1, -3]);
    assert_contains(
        &error(load_dump(&v)),
        &["tree 0, node 0", "negative category -3"],
    );
    let mut v = binary_dump();
    v[0]["split_condition"] = json!("0.5");
    assert_contains(
        &error(load_dump(&v)),
        &["[0].split_condition", "a number or a list"],
    );
}

#[test]
fn a_dump_too_deep_to_parse_is_an_error_not_a_crash() {
    let mut node = json!({"nodeid": 0, "leaf": 1.0});
    for _ in 0..200 {
        node = json!({"nodeid": 0, "split": "f0", "split_condition": 0.5, "yes": 1, "no": 2,
                      "missing": 1, "children": [node, {"nodeid": 2, "leaf": 0.0}]});
    }
    let bytes = serde_json::to_vec(&json!([node])).unwrap();
    assert_contains(
        &error(load_with(
            &bytes,
            &dump_options("reg:squarederror", "0", None),
        )),
        &["recursion limit"],
    );
}

// ---------------------------------------------------------------------------------------
// LightGBM text
// ---------------------------------------------------------------------------------------

/// Replaces the first line starting with `key=` after the line `Tree=<tree>`.
fn edit_tree_line(text: &str, tree: usize, key: &str, value: &str) -> String {
    let mut in_tree = false;
    let mut done = false;
    text.lines()
        .map(|l| {
            if l == format!("Tree={tree}") {
                in_tree = true;
            } else if l.starts_with("Tree=") {
                in_tree = false;
            }
            if in_tree && !done && l.starts_with(&format!("{key}=")) {
                done = true;
                format!("{key}={value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tree_line(text: &str, tree: usize, key: &str) -> String {
    let start = text.find(&format!("Tree={tree}\n")).unwrap();
    let line = text[start..]
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap();
    line[key.len() + 1..].to_string()
}

fn load_text(text: &str) -> Result<Forest, LoadError> {
    load(text.as_bytes())
}

#[test]
fn every_truncation_of_a_lightgbm_text_model_is_an_error() {
    let text = fixture_text("lgb_categorical", "model.txt");
    let end = text.find("end of trees").unwrap();
    // Cuts inside the trees: at every line end, and inside lines.
    for (i, _) in text[..end].match_indices('\n') {
        assert!(load_text(&text[..i]).is_err(), "cut at byte {i} loaded");
    }
    every_truncation_fails(&text.as_bytes()[..end], 61, &LoadOptions::default());
    assert_contains(
        &error(load_text(&text[..end / 2])),
        &["no `end of trees` line"],
    );
}

#[test]
fn wrong_array_lengths_name_line_tree_and_key() {
    let text = fixture_text("lgb_regression", "model.txt");
    let threshold = tree_line(&text, 3, "threshold");
    let n = threshold.split(' ').count();
    let shorter = threshold.rsplit_once(' ').unwrap().0;
    let damaged = edit_tree_line(&text, 3, "threshold", shorter);
    let line = 1 + damaged
        .lines()
        .position(|l| l == format!("threshold={shorter}"))
        .unwrap();
    assert_contains(
        &error(load_text(&damaged)),
        &[
            &format!("line {line} (tree 3, `threshold`)"),
            &format!("{} values, expected {n}", n - 1),
        ],
    );
    let leaves = tree_line(&text, 0, "leaf_value").split(' ').count();
    let damaged = edit_tree_line(&text, 0, "leaf_value", "1 2 3");
    assert_contains(
        &error(load_text(&damaged)),
        &[
            "tree 0, `leaf_value`",
            &format!("3 values, expected {leaves}"),
        ],
    );
    let types = tree_line(&text, 5, "decision_type");
    let damaged = edit_tree_line(
        &text,
        5,
        "decision_type",
        &format!("x{}", &types[types.find(' ').unwrap()..]),
    );
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 5, `decision_type`", "value 0 `x` is not valid"],
    );
}

#[test]
fn bad_children_decision_types_and_counts_are_named() {
    let text = fixture_text("lgb_regression", "model.txt");
    let left = tree_line(&text, 2, "left_child");
    let mut children: Vec<String> = left.split(' ').map(str::to_string).collect();
    children[0] = "-40".into();
    let damaged = edit_tree_line(&text, 2, "left_child", &children.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 2, node 0", "`left_child` -40 is out of range"],
    );
    let mut types: Vec<String> = tree_line(&text, 1, "decision_type")
        .split(' ')
        .map(str::to_string)
        .collect();
    types[3] = "99".into();
    let damaged = edit_tree_line(&text, 1, "decision_type", &types.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 1, node 3", "`decision_type` 99"],
    );
    types[3] = "12".into(); // missing type 3 does not exist
    let damaged = edit_tree_line(&text, 1, "decision_type", &types.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 1, node 3", "unknown missing type"],
    );
    let damaged = edit_tree_line(&text, 4, "num_leaves", "0");
    assert_contains(
        &error(load_text(&damaged)),
        &["tree 4, `num_leaves`", "0 leaves"],
    );
    let damaged = text.replacen("max_feature_idx=5", "max_feature_idx=7", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["`feature_names` has 6 names", "8 features"],
    );
    let damaged = text.replacen("num_tree_per_iteration=1", "num_tree_per_iteration=3", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["20 trees is not a whole number of iterations of 3"],
    );
    let damaged = text.replacen("Tree=7\n", "Tree=9\n", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["`Tree=9` where `Tree=7` was expected"],
    );
}

#[test]
fn bad_bitsets_are_named() {
    let text = fixture_text("lgb_categorical", "model.txt");
    let tree = (0..25)
        .find(|&t| tree_line(&text, t, "num_cat") != "0")
        .unwrap();
    // Boundaries that do not cover the words.
    let words = tree_line(&text, tree, "cat_threshold");
    let fewer = words.rsplit_once(' ').unwrap().0;
    let damaged = edit_tree_line(&text, tree, "cat_threshold", fewer);
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `cat_boundaries`"), "do not cover"],
    );
    // A categorical threshold that is no bitset index.
    let types = tree_line(&text, tree, "decision_type");
    let node = types
        .split(' ')
        .position(|d| d.parse::<i64>().unwrap() & 1 == 1)
        .unwrap();
    let mut thresholds: Vec<String> = tree_line(&text, tree, "threshold")
        .split(' ')
        .map(str::to_string)
        .collect();
    thresholds[node] = "77".into();
    let damaged = edit_tree_line(&text, tree, "threshold", &thresholds.join(" "));
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, node {node}"), "not a bitset index"],
    );
    // A bitset word far past 2^24 categories is no valid category set.
    let boundaries = tree_line(&text, tree, "cat_boundaries");
    let last: usize = boundaries.rsplit(' ').next().unwrap().parse().unwrap();
    let mut b: Vec<String> = boundaries.split(' ').map(str::to_string).collect();
    let n = b.len();
    b[n - 1] = (last + 600_000).to_string();
    let damaged = edit_tree_line(&text, tree, "cat_boundaries", &b.join(" "));
    let damaged = edit_tree_line(
        &damaged,
        tree,
        "cat_threshold",
        &format!("{words}{}", " 1".repeat(600_000)),
    );
    assert_contains(
        &error(load_text(&damaged)),
        &[
            &format!("tree {tree}"),
            "out of range (codes are below 2^24)",
        ],
    );
}

#[test]
fn bad_linear_leaves_and_objectives_are_named() {
    let text = fixture_text("lgb_linear", "model.txt");
    let tree = (0..10)
        .find(|&t| {
            tree_line(&text, t, "num_features")
                .split(' ')
                .any(|n| n != "0")
        })
        .unwrap();
    let damaged = edit_tree_line(&text, tree, "leaf_coeff", "");
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `leaf_coeff`"), "0 values, expected"],
    );
    let damaged = edit_tree_line(&text, tree, "num_features", "1 2");
    assert_contains(
        &error(load_text(&damaged)),
        &[&format!("tree {tree}, `num_features`")],
    );
    let binary = fixture_text("lgb_binary", "model.txt");
    let damaged = binary.replacen("objective=binary sigmoid:1", "objective=binary", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["objective `binary`: no `sigmoid:` factor"],
    );
    let damaged = binary.replacen(
        "objective=binary sigmoid:1",
        "objective=binary sigmoid:-2",
        1,
    );
    assert_contains(&error(load_text(&damaged)), &["bad `sigmoid:` factor `-2`"]);
    let damaged = binary.replacen("objective=binary sigmoid:1", "objective=softsign", 1);
    assert_contains(
        &error(load_text(&damaged)),
        &["unsupported objective `softsign`", "--margin"],
    );
    let margins = LoadOptions {
        margin_only: true,
        ..LoadOptions::default()
    };
    assert!(load_with(damaged.as_bytes(), &margins).is_ok());
}

// ---------------------------------------------------------------------------------------
// LightGBM JSON
// ---------------------------------------------------------------------------------------

fn lgb_json() -> Value {
    fixture_json("lgb_categorical", "model.json")
}

fn first_categorical(node: &mut Value) -> Option<&mut Value> {
    if node["decision_type"] == "==" {
        return Some(node);
    }
    node.get("left_child")?;
    // Look left first, then right.
    let found_left = first_categorical(&mut node["left_child"]).is_some();
    if found_left {
        return first_categorical(&mut node["left_child"]);
    }
    first_categorical(&mut node["right_child"])
}

#[test]
fn truncated_lightgbm_json_is_an_error() {
    let bytes = fixture_file("lgb_categorical", "model.json");
    every_truncation_fails(&bytes, 997, &LoadOptions::default());
    assert_contains(
        &error(load(&bytes[..bytes.len() / 3])),
        &["EOF while parsing"],
    );
}

#[test]
fn damaged_lightgbm_json_nodes_name_their_path() {
    let mut v = lgb_json();
    let tree = (0..25)
        .find(|&t| first_categorical(&mut v["tree_info"][t]["tree_structure"]).is_some())
        .unwrap();
    let node = first_categorical(&mut v["tree_info"][tree]["tree_structure"]).unwrap();
    node["threshold"] = json!("1||x||3");
    assert_contains(
        &error(load_value(&v)),
        &[
            &format!("tree {tree}, `tree_structure"),
            "`x` is not a category code",
        ],
    );
    let mut v = lgb_json();
    v["tree_info"][0]["tree_structure"]["decision_type"] = json!("==");
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, `tree_structure`", "does not fit its `threshold`"],
    );
    let mut v = lgb_json();
    v["tree_info"][1]["tree_structure"]["missing_type"] = json!("Sometimes");
    assert_contains(
        &error(load_value(&v)),
        &[
            "tree 1, `tree_structure`",
            "unknown `missing_type` `Sometimes`",
        ],
    );
    let mut v = lgb_json();
    v["tree_info"][2]["tree_structure"]["left_child"] = json!({"split_feature": 0});
    assert_contains(
        &error(load_value(&v)),
        &["tree 2, `tree_structure.left_child`", "without `threshold`"],
    );
    let mut v = lgb_json();
    v["tree_info"][2]["tree_structure"]["split_feature"] = json!(40);
    assert_contains(
        &error(load_value(&v)),
        &["tree 2, node 0", "feature index 40 is out of range"],
    );
    let mut v = lgb_json();
    v["feature_names"] = json!(["a"]);
    assert_contains(&error(load_value(&v)), &["`feature_names` has 1 names"]);
    let mut v = lgb_json();
    v["tree_info"][0]["tree_structure"]["threshold"] = json!("big");
    assert_contains(&error(load_value(&v)), &["does not fit its `threshold`"]);
}

#[test]
fn damaged_linear_leaves_in_lightgbm_json_are_named() {
    let mut v = fixture_json("lgb_linear", "model.json");
    let mut node = &mut v["tree_info"][4]["tree_structure"];
    while node.get("left_child").is_some() {
        node = &mut node["left_child"];
    }
    let mut partial = node.clone();
    partial.as_object_mut().unwrap().remove("leaf_coeff");
    *node = partial;
    assert_contains(
        &error(load_value(&v)),
        &[
            "tree 4",
            "needs all of `leaf_const`, `leaf_features` and `leaf_coeff`",
        ],
    );
    let mut v = fixture_json("lgb_linear", "model.json");
    let mut node = &mut v["tree_info"][4]["tree_structure"];
    while node.get("left_child").is_some() {
        node = &mut node["left_child"];
    }
    node["leaf_features"] = json!([0, 1, 2]);
    node["leaf_coeff"] = json!([0.5]);
    assert_contains(
        &error(load_value(&v)),
        &["tree 4", "3 `leaf_features` but 1 `leaf_coeff`"],
    );
}

// ---------------------------------------------------------------------------------------
// scikit-learn JSON
// ---------------------------------------------------------------------------------------

fn sk(fixture: &str) -> Value {
    fixture_json(fixture, "model.json")
}

#[test]
fn truncated_sklearn_json_is_an_error() {
    let bytes = fixture_file("sk_rf_multiclass", "model.json");
    every_truncation_fails(&bytes, 499, &LoadOptions::default());
    assert_contains(
        &error(load(&bytes[..bytes.len() / 2])),
        &["EOF while parsing"],
    );
}

#[test]
fn wrong_sklearn_array_lengths_name_tree_and_field() {
    for field in [
        "children_right",
        "feature",
        "threshold",
        "missing_go_to_left",
        "value",
    ] {
        let mut v = sk("sk_rf_regressor");
        v["trees"][3][field].as_array_mut().unwrap().pop();
        assert_contains(
            &error(load_value(&v)),
            &[
                "tree 3: ",
                &format!("`{field}` has"),
                "but `children_left` has",
            ],
        );
    }
    let mut v = sk("sk_rf_multiclass");
    let leaf = v["trees"][2]["children_left"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == -1)
        .unwrap();
    v["trees"][2]["value"][leaf] = json!([0.5, 0.5]);
    assert_contains(
        &error(load_value(&v)),
        &[
            &format!("tree 2, node {leaf}"),
            "`value` has 2 entries, expected 4",
        ],
    );
    let mut v = sk("sk_rf_named");
    v["feature_names"] = json!(["a", "b"]);
    assert_contains(
        &error(load_value(&v)),
        &["`feature_names` has 2 names for 6 features"],
    );
}

#[test]
fn bad_sklearn_values_are_named() {
    let mut v = sk("sk_tree_regressor");
    v["timber_sklearn"] = json!(2);
    assert_contains(
        &error(load_value(&v)),
        &["`timber_sklearn` = 2", "schema version 1"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["missing_go_to_left"][0] = json!(2);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "`missing_go_to_left` = 2"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["threshold"][0] = json!(-1e300);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "below every f32"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["children_left"][0] = json!(100_000);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "child index 100000 is out of range"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["children_right"][0] = json!(-1);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "a split needs two children"],
    );
    let mut v = sk("sk_tree_regressor");
    v["trees"][0]["feature"][0] = json!(17);
    assert_contains(
        &error(load_value(&v)),
        &["tree 0, node 0", "feature index 17 is out of range"],
    );
    let mut v = sk("sk_gb_multiclass");
    v["init"] = json!([0.1, 0.2]);
    assert_contains(
        &error(load_value(&v)),
        &["`init` has 2 values for 3 outputs"],
    );
    let mut v = sk("sk_gb_multiclass");
    v.as_object_mut().unwrap().remove("learning_rate");
    assert_contains(&error(load_value(&v)), &["`learning_rate`: missing"]);
    let mut v = sk("sk_gb_multiclass");
    v["trees"][7]["output"] = json!(3);
    assert_contains(
        &error(load_value(&v)),
        &["tree 7: `output` 3 is out of range"],
    );
    let mut v = sk("sk_gb_binary");
    v["transform"] = json!("tanh");
    assert_contains(
        &error(load_value(&v)),
        &["at `transform`", "unknown variant `tanh`"],
    );
    let mut v = sk("sk_gb_binary");
    v["trees"][0]["value"][0][0] = json!("x");
    assert_contains(&error(load_value(&v)), &["trees[0].value[0][0]"]);
}

// ---------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------

fn timber(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_timber"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run timber");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_dump_without_options_names_the_flags() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_input_formats_dump_crate");
    let _ = std::fs::remove_dir_all(&out);
    let (ok, stderr) = timber(&[
        "compile",
        "models/binary_logistic/model_dump.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.starts_with("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_contains(&stderr, &["model_dump.json", "--objective"]);
    assert!(!out.exists(), "nothing is written");
    let (ok, stderr) = timber(&[
        "predict",
        "models/lgb_binary/model.txt",
        "--objective",
        "binary:logistic",
        "--input",
        "models/lgb_binary/input.csv",
    ]);
    assert!(!ok, "{stderr}");
    assert_contains(
        &stderr,
        &[
            "--objective applies only to XGBoost JSON dumps",
            "lightgbm-text",
        ],
    );
    let (ok, stderr) = timber(&["inspect", "models/README.md"]);
    assert!(!ok, "{stderr}");
    assert_contains(
        &stderr,
        &["not a supported model file", "LightGBM text or JSON"],
    );
}
