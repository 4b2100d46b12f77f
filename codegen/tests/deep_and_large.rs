//! Degenerate and large models: a chain thousands of levels deep must not overflow the
//! compiler's stack, and a big forest must be spread over many small files and functions.

use timber_codegen::emit::{emit, render_files, EmitOptions, GeneratedFile, Layout, CHUNK_NODES};
use timber_codegen::interp::Interpreter;
use timber_codegen::ir::{
    Comparison, Feature, FeatureKind, Forest, Leaf, Node, Origin, Precision, Split, Test, TextRule,
    Transform, Tree,
};
use timber_codegen::{load_file, LoadOptions};
use timber_runtime::Model;

/// A tree where node 2k splits on `x[k % 2] < k` and its left child is a leaf; depth `depth`.
fn chain(depth: usize) -> Tree {
    let mut nodes = Vec::new();
    for k in 0..depth {
        let (leaf, next) = (nodes.len() + 1, nodes.len() + 2);
        nodes.push(Node::Split(Split {
            feature: k % 2,
            test: Test::Numerical {
                threshold: k as f64,
                comparison: Comparison::Less,
            },
            left: leaf,
            right: next,
            default_left: k % 3 == 0,
        }));
        nodes.push(Node::Leaf(Leaf::Scalar(k as f64)));
    }
    nodes.push(Node::Leaf(Leaf::Scalar(-1.0)));
    Tree::new(nodes, 0)
}

fn forest(trees: Vec<Tree>) -> Forest {
    let features = (0..2)
        .map(|i| Feature {
            text: TextRule::Standard,
            name: format!("f{i}"),
            kind: FeatureKind::Numerical,
        })
        .collect();
    Forest {
        features,
        trees,
        base_margin: vec![0.5],
        transform: Transform::Identity,
        objective: "reg:squarederror".into(),
        precision: Precision::F32,
        has_feature_names: false,
        origin: Origin::default(),
        average_over: None,
    }
    .validated()
    .expect("valid forest")
}

/// The files of the code emitted for `f` in `layout` (otherwise the default options).
fn rendered(f: &Forest, layout: Layout, name: &str) -> Vec<GeneratedFile> {
    let options = EmitOptions {
        layout,
        ..EmitOptions::default()
    };
    render_files(&emit(f, &options).unwrap(), name).unwrap()
}

#[test]
fn a_ten_thousand_level_chain_is_validated_interpreted_and_emitted_without_recursion_limits() {
    // Run on a thread with a small stack: recursion proportional to depth would overflow it.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let f = forest(vec![chain(10_000)]);
            let interp = Interpreter::new(f.clone()).unwrap();
            let mut out = [0.0f32];
            // x < k first holds at k = 5000, whose left child is the leaf 5000.
            interp.predict(&[4_999.5, 4_999.5], &mut out);
            assert_eq!(out[0], 0.5 + 5_000.0);
            interp.predict(&[10_000.0, 10_000.0], &mut out);
            assert_eq!(out[0], 0.5 - 1.0, "past the end of the chain");
            interp.predict(&[f32::NAN, f32::NAN], &mut out);
            assert_eq!(
                out[0], 0.5,
                "NaN at node 0 goes to its default (left) leaf, value 0"
            );
            // The default layout holds the chain as node arrays: data, no code per node.
            let files = rendered(&f, Layout::Auto, "chain");
            assert_eq!(files.len(), 2, "root file and nodes.bin");
            assert!(files[1].path.ends_with("nodes.bin"));
            let files = rendered(&f, Layout::Nested, "chain");
            let text: String = files
                .iter()
                .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
                .collect();
            // One function per 32 levels of the chain.
            assert!(
                text.matches("fn tree_0_node_").count() >= 10_000 / 32 - 1,
                "deep subtrees are outlined"
            );
            let max_indent = text
                .lines()
                .map(|l| l.len() - l.trim_start().len())
                .max()
                .unwrap();
            assert!(
                max_indent <= 4 * 40,
                "nesting stays bounded: indent {max_indent}"
            );
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

#[test]
fn big_forests_are_spread_over_many_small_files() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/trees1000/model.json"
    );
    let f = load_file(model, &LoadOptions::default()).unwrap();
    assert_eq!(f.trees.len(), 1000);
    // The default layout holds these trees as data: one blob, no chunk of code.
    let tables = rendered(&f, Layout::Auto, "big");
    assert_eq!(tables.len(), 2, "root file and tables.bin");
    assert!(tables[1].path.ends_with("tables.bin"));
    let files = rendered(&f, Layout::Nested, "big");
    let chunks = files.len() - 1;
    assert!(
        chunks >= f.num_nodes() / CHUNK_NODES,
        "{chunks} chunk files for {} nodes",
        f.num_nodes()
    );
    for file in &files {
        assert!(
            file.contents.len() < 400_000,
            "{} is {} bytes",
            file.path,
            file.contents.len()
        );
    }
}
