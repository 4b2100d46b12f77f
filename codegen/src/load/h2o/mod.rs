//! H2O MOJO archives (`model.download_mojo()`) of GBM and DRF models, scored as H2O's own
//! MOJO scorer (`h2o-genmodel`'s `MojoModel.score0`, behind `PredictCsv` and
//! `EasyPredictModelWrapper`) scores them, bit for bit.
//!
//! The archive holds `model.ini` (the model's keys, its columns and which have domains),
//! `domains/dNNN.txt` (the levels of categorical columns) and `trees/tCC_GGG.bin` (the tree
//! of class `CC` in iteration `GGG`, see `tree.rs`); format versions 1.00 to 1.40 (H2O 3.10 to
//! 3.46). What becomes of them:
//!
//! - features: the first `n_features` columns, by name; a column with a domain is
//!   categorical, its levels the labels (input cells are level names: [`TextRule::H2o`]);
//! - precision `f64`: inputs are compared as doubles with the `f32` split values widened;
//!   each class's margin sums its trees' `f32` leaves in `f64`, from 0.0, in iteration order;
//! - GBM adds `init_f` after the trees (as one more, single-leaf tree), then its link:
//!   bernoulli (and quasibinomial, modified_huber) `p = 1 / (1 + min(1e19, exp(-f)))` with
//!   Java's `Math.exp`, output `p` of the second response level; multinomial softmax (a
//!   two-level multinomial model has one tree per iteration for `f` and softmaxes `f, -f`:
//!   here a second margin sums the negated trees); regression identity or
//!   `min(1e19, exp(f))`;
//! - DRF averages: regression `sum / n_trees`; binomial trees predict the first level's
//!   probability, output `1 - sum / n_trees`; `binomial_double_trees` and multinomial divide
//!   the per-class sums by their total;
//! - `balance_classes` models correct the probabilities by `prior / trained` class shares;
//! - binomial models output the second level's probability, multinomial ones one per level
//!   in domain order, regression the value; margins are the per-class sums (GBM: with
//!   `init_f`).
//!
//! Refused with an error naming the key: other algorithms (GLM, deep learning, XGBoost,
//! isolation forests, ...), distributions and links H2O's GBM scorer does not compute as
//! above, calibrated models, models trained with an offset column, non-default categorical
//! encodings, and MOJO versions other than 1.00-1.40.

mod ini;
mod tree;

use super::{Frontend, LoadError, LoadOptions, Probe};
use crate::ir::{
    Feature, FeatureKind, Forest, Leaf, Node, Origin, Precision, Probabilities, ProbabilitiesFrom,
    TextRule, Transform, Tree,
};
use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use tree::Version;
use zip::ZipArchive;

/// The frontend.
pub const FRONTEND: Frontend = Frontend {
    name: "h2o-mojo",
    description: "H2O MOJO (`model.download_mojo()`, GBM and DRF)",
    signature: "a zip archive with a `model.ini` entry",
    sniff,
    load,
    takes_dump_options: false,
};

/// A zip archive (its first bytes) whose entries include `model.ini`, or one too damaged to
/// list its entries (then loading says what is wrong with it).
fn sniff(probe: &Probe<'_>) -> bool {
    let bytes = probe.bytes();
    if !bytes.starts_with(b"PK\x03\x04") {
        return false;
    }
    match ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive.index_for_name("model.ini").is_some(),
        Err(_) => true,
    }
}

fn malformed(path: &str, detail: impl Into<String>) -> LoadError {
    super::json::malformed(path, detail)
}

/// The archive's entries, read on demand.
struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    path: &'a str,
    /// The archive's size: no entry is bigger.
    len: usize,
}

impl Archive<'_> {
    fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, LoadError> {
        super::zip_entry(&mut self.zip, name, self.len).map_err(|e| {
            malformed(
                self.path,
                format!("{name}: cannot read the archive entry: {e}"),
            )
        })
    }

    fn read_text(&mut self, name: &str) -> Result<String, LoadError> {
        let bytes = self.read(name)?;
        String::from_utf8(bytes)
            .map_err(|e| malformed(self.path, format!("{name}: not UTF-8 text ({e})")))
    }
}

/// The `[info]` keys, read as H2O's `ParseUtils.tryParse` reads them.
struct Info<'a> {
    keys: &'a HashMap<String, String>,
    path: &'a str,
}

impl Info<'_> {
    /// A key's value; `None` when absent or `null`.
    fn get(&self, key: &str) -> Option<&str> {
        self.keys
            .get(key)
            .map(String::as_str)
            .filter(|v| *v != "null")
    }

    fn required(&self, key: &str) -> Result<&str, LoadError> {
        self.get(key)
            .ok_or_else(|| malformed(self.path, format!("model.ini: `{key}` is missing")))
    }

    fn bad(&self, key: &str, value: &str, what: &str) -> LoadError {
        malformed(
            self.path,
            format!("model.ini: `{key}` = `{value}` is not {what}"),
        )
    }

    fn count(&self, key: &str) -> Result<usize, LoadError> {
        let v = self.required(key)?;
        v.parse().map_err(|_| self.bad(key, v, "a count"))
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(self.bad(key, v, "true or false")),
        }
    }

    fn number(&self, key: &str) -> Result<f64, LoadError> {
        let v = self.required(key)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.bad(key, v, "a finite number")),
        }
    }

    fn numbers(&self, key: &str) -> Result<Vec<f64>, LoadError> {
        let v = self.required(key)?;
        ini::double_array(v)
            .filter(|xs| xs.iter().all(|x| x.is_finite()))
            .ok_or_else(|| self.bad(key, v, "a list of finite numbers"))
    }
}

/// The algorithms, by `algorithm` (the full name) as H2O's `ModelMojoFactory` knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Gbm,
    Drf,
}

/// What the model predicts (`category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Binomial,
    Multinomial,
    Regression,
}

/// Loads an H2O MOJO archive.
pub fn load(bytes: &[u8], path: &str, options: &LoadOptions) -> Result<Forest, LoadError> {
    let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        malformed(
            path,
            format!("not a readable zip archive ({e}); a truncated or damaged MOJO?"),
        )
    })?;
    let mut archive = Archive {
        zip,
        path,
        len: bytes.len(),
    };
    if !archive.has("model.ini") {
        return Err(malformed(
            path,
            "the archive has no `model.ini`: not an H2O MOJO",
        ));
    }
    let ini = ini::parse(&archive.read_text("model.ini")?)
        .map_err(|e| malformed(path, format!("model.ini: {e}")))?;
    let info = Info {
        keys: &ini.info,
        path,
    };

    let algorithm = algorithm(&info)?;
    let version = version(&info)?;
    check_supported(&info)?;
    let category = match info.required("category")? {
        "Binomial" => Category::Binomial,
        "Multinomial" => Category::Multinomial,
        "Regression" => Category::Regression,
        other => {
            return Err(malformed(
                path,
                format!("model.ini: `category` = `{other}`: only Binomial, Multinomial and Regression models are supported"),
            ))
        }
    };

    // Columns: predictors, special columns, the response last.
    let n_features = info.count("n_features")?;
    let n_classes = info.count("n_classes")?;
    let n_trees = info.count("n_trees")?;
    let columns = &ini.columns;
    if n_features == 0 || n_features >= columns.len() {
        return Err(malformed(
            path,
            format!(
                "model.ini: `n_features` = {n_features} does not fit the {} columns (predictors, then the response)",
                columns.len()
            ),
        ));
    }
    if n_features > usize::from(u16::MAX) {
        return Err(malformed(
            path,
            format!("model.ini: {n_features} predictors; tree column ids are 16-bit"),
        ));
    }
    let domains = read_domains(&mut archive, &ini, &info, columns.len())?;
    let response = columns.len() - 1;
    check_classes(&info, category, n_classes, domains[response].as_deref())?;

    let double_trees = info.flag("binomial_double_trees")?.unwrap_or(false);
    let per_class = match info.get("n_trees_per_class") {
        Some(_) => info.count("n_trees_per_class")?,
        // MOJO 1.00 does not record it.
        None if n_classes == 2 && !double_trees => 1,
        None => n_classes,
    };
    // H2O's writers: one tree per iteration for regression and for two classes (except DRF's
    // binomial_double_trees), else one per class.
    let expected = match (algorithm, category) {
        (_, Category::Regression) => 1,
        (Algorithm::Drf, _) if n_classes == 2 && double_trees => 2,
        _ if n_classes == 2 => 1,
        _ => n_classes,
    };
    if per_class != expected {
        return Err(malformed(
            path,
            format!("model.ini: `n_trees_per_class` = {per_class}, but a {category:?} {algorithm:?} model with {n_classes} classes has {expected}"),
        ));
    }
    if n_trees == 0 {
        return Err(malformed(
            path,
            "model.ini: `n_trees` = 0: the model has no trees",
        ));
    }

    // Trees, class by class, iterations in order: H2O's summing order.
    let predictor_domains: Vec<Option<usize>> = domains[..n_features]
        .iter()
        .map(|d| d.as_ref().map(Vec::len))
        .collect();
    let cols = tree::Columns {
        domains: &predictor_domains,
    };
    let trees = read_trees(&mut archive, version, &cols, per_class, n_trees)?;

    let features = columns[..n_features]
        .iter()
        .zip(&domains)
        .map(|(name, domain)| Feature {
            name: name.clone(),
            kind: match domain {
                Some(levels) => FeatureKind::Categorical {
                    labels: levels.clone(),
                },
                None => FeatureKind::Numerical,
            },
            text: TextRule::H2o,
        })
        .collect();
    let levels = domains[response].as_deref().unwrap_or(&[]);
    let shape = ModelShape {
        info: &info,
        algorithm,
        category,
        n_classes,
        n_trees,
        per_class,
        response: &columns[response],
        levels,
        options,
    };
    let out = shape.outputs(trees)?;
    Ok(Forest {
        features,
        trees: out.trees,
        base_margin: vec![0.0; out.groups],
        transform: out.transform,
        objective: out.objective,
        precision: Precision::F64,
        has_feature_names: true,
        origin: Origin::default(),
        average_over: out.average_over,
    })
}

/// `algorithm`, the full name H2O's reader is chosen by; anything but GBM and DRF is named.
fn algorithm(info: &Info<'_>) -> Result<Algorithm, LoadError> {
    let Some(name) = info.get("algorithm") else {
        return Err(malformed(
            info.path,
            "model.ini: no `algorithm` (unable to find information about the model's algorithm)",
        ));
    };
    match name {
        "Gradient Boosting Machine" | "Gradient Boosting Method" => Ok(Algorithm::Gbm),
        "Distributed Random Forest" => Ok(Algorithm::Drf),
        other => {
            let short = info
                .get("algo")
                .map_or_else(String::new, |a| format!(" (`algo` = {a})"));
            Err(malformed(
                info.path,
                format!("model.ini: `algorithm` = `{other}`{short} is not supported: Timber reads H2O's GBM and DRF MOJOs"),
            ))
        }
    }
}

/// `mojo_version`: 1.00 to 1.40, the versions H2O's GBM and DRF writers have used.
fn version(info: &Info<'_>) -> Result<Version, LoadError> {
    let v = info.required("mojo_version")?;
    let bad = || {
        malformed(
            info.path,
            format!("model.ini: `mojo_version` = `{v}` is not a MOJO version Timber reads (1.00 to 1.40, H2O 3.10 to 3.46)"),
        )
    };
    let x: f64 = v.parse().map_err(|_| bad())?;
    Ok(match x {
        1.0 => Version::V100,
        1.1 => Version::V110,
        1.2 | 1.3 | 1.4 => Version::V120,
        _ => return Err(bad()),
    })
}

/// The keys that would make H2O's scores something this frontend does not compute.
fn check_supported(info: &Info<'_>) -> Result<(), LoadError> {
    let path = info.path;
    if info.flag("supervised")? != Some(true) {
        return Err(malformed(
            path,
            "model.ini: `supervised` is not true: only supervised GBM and DRF models are supported",
        ));
    }
    if let Some(e) = info.get("endianness") {
        if e != "LITTLE_ENDIAN" {
            return Err(malformed(
                path,
                format!("model.ini: `endianness` = `{e}`: only little-endian MOJOs are supported"),
            ));
        }
    }
    if let Some(method) = info.get("calib_method") {
        return Err(malformed(
            path,
            format!("model.ini: `calib_method` = `{method}`: calibrated models are not supported"),
        ));
    }
    if let Some(offset) = info.get("offset_column") {
        return Err(malformed(
            path,
            format!("model.ini: `offset_column` = `{offset}`: models trained with an offset column are not supported"),
        ));
    }
    if let Some(encoding) = info.get("_genmodel_encoding") {
        if !matches!(encoding, "AUTO" | "Enum" | "SortByResponse") {
            return Err(malformed(
                path,
                format!("model.ini: `_genmodel_encoding` = `{encoding}`: only models whose categorical columns are used as they are (AUTO, Enum, SortByResponse) are supported"),
            ));
        }
    }
    Ok(())
}

/// The domains of every column (`None`: numerical), from the files `[domains]` names.
fn read_domains(
    archive: &mut Archive<'_>,
    ini: &ini::ModelIni,
    info: &Info<'_>,
    n_columns: usize,
) -> Result<Vec<Option<Vec<String>>>, LoadError> {
    let escaped = info.flag("escape_domain_values")?.unwrap_or(false);
    let mut domains = vec![None; n_columns];
    for (column, count, file) in &ini.domains {
        // H2O ignores domains of columns it does not have.
        if *column >= n_columns {
            continue;
        }
        let name = format!("domains/{file}");
        if !archive.has(&name) {
            return Err(malformed(
                archive.path,
                format!("{name}: missing (model.ini lists it for column {column})"),
            ));
        }
        let levels = ini::domain_levels(&archive.read_text(&name)?, escaped);
        if levels.len() != *count {
            return Err(malformed(
                archive.path,
                format!(
                    "{name}: {} levels, but model.ini says {count}",
                    levels.len()
                ),
            ));
        }
        domains[*column] = Some(levels);
    }
    Ok(domains)
}

/// `n_classes` against the category and the response's domain.
fn check_classes(
    info: &Info<'_>,
    category: Category,
    n_classes: usize,
    response: Option<&[String]>,
) -> Result<(), LoadError> {
    let ok = match category {
        Category::Regression => n_classes == 1,
        Category::Binomial => n_classes == 2,
        Category::Multinomial => n_classes >= 2,
    };
    if !ok {
        return Err(malformed(
            info.path,
            format!("model.ini: `n_classes` = {n_classes} does not fit a {category:?} model"),
        ));
    }
    if let Some(levels) = response {
        if category != Category::Regression && levels.len() != n_classes {
            return Err(malformed(
                info.path,
                format!(
                    "model.ini: `n_classes` = {n_classes}, but the response has {} levels",
                    levels.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Every tree, class by class and in iteration order: `(class, iteration, nodes)`. A tree
/// file may be absent (H2O skips trees it did not build), unless its `_aux` companion, which
/// H2O always writes with it, is there: then the archive is damaged.
fn read_trees(
    archive: &mut Archive<'_>,
    version: Version,
    cols: &tree::Columns<'_>,
    per_class: usize,
    n_trees: usize,
) -> Result<Vec<(usize, Vec<Node>)>, LoadError> {
    let path = archive.path;
    // Tree files of classes or iterations the model does not have are a sign of damage.
    let names = archive
        .zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<HashSet<String>, _>>()
        .map_err(|e| malformed(path, format!("cannot list the archive's entries: {e}")))?;
    for name in &names {
        if let Some((class, iteration)) = tree_file(name) {
            if class >= per_class || iteration >= n_trees {
                return Err(malformed(
                    path,
                    format!("{name}: the model has {per_class} trees per iteration and {n_trees} iterations (model.ini)"),
                ));
            }
        }
    }
    let mut trees = Vec::new();
    for class in 0..per_class {
        for iteration in 0..n_trees {
            let name = format!("trees/t{class:02}_{iteration:03}.bin");
            if !names.contains(&name) {
                let aux = format!("trees/t{class:02}_{iteration:03}_aux.bin");
                if names.contains(&aux) {
                    return Err(malformed(
                        path,
                        format!("{name}: missing, but {aux} is there: the archive is damaged"),
                    ));
                }
                continue;
            }
            let bytes = archive.read(&name)?;
            let nodes = tree::decode(&bytes, version, cols)
                .map_err(|e| malformed(path, format!("{name}: {e}")))?;
            trees.push((class, nodes));
        }
    }
    if trees.is_empty() {
        return Err(malformed(
            path,
            format!(
                "none of the {} tree files (trees/tCC_GGG.bin) is in the archive",
                per_class * n_trees
            ),
        ));
    }
    Ok(trees)
}

/// `(class, iteration)` of a tree file name `trees/tCC_GGG.bin`.
fn tree_file(name: &str) -> Option<(usize, usize)> {
    let stem = name.strip_prefix("trees/t")?.strip_suffix(".bin")?;
    let (class, iteration) = stem.split_once('_')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(class) || !digits(iteration) {
        return None;
    }
    Some((class.parse().ok()?, iteration.parse().ok()?))
}

/// What the frontend knows about the model when it builds the outputs.
struct ModelShape<'a> {
    info: &'a Info<'a>,
    algorithm: Algorithm,
    category: Category,
    n_classes: usize,
    n_trees: usize,
    per_class: usize,
    response: &'a str,
    levels: &'a [String],
    options: &'a LoadOptions,
}

/// The forest's trees and how they make predictions.
struct Outputs {
    trees: Vec<Tree>,
    /// Margins per row.
    groups: usize,
    transform: Transform,
    /// DRF's division by the number of iterations.
    average_over: Option<u32>,
    /// The objective's description, for `inspect` and generated headers.
    objective: String,
}

/// GBM's link functions (`LinkFunctionType`), as far as its scorer uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Identity,
    Log,
    Logit,
}

impl ModelShape<'_> {
    fn outputs(&self, trees: Vec<(usize, Vec<Node>)>) -> Result<Outputs, LoadError> {
        match self.algorithm {
            Algorithm::Gbm => self.gbm(trees),
            Algorithm::Drf => self.drf(trees),
        }
    }

    fn gbm(&self, trees: Vec<(usize, Vec<Node>)>) -> Result<Outputs, LoadError> {
        let info = self.info;
        let distribution = info.required("distribution")?;
        let init_f = info.number("init_f")?;
        // The family's default link (ModelMojoReader.defaultLinkFunction); `None` for the
        // families this frontend does not compute.
        let default_link = match distribution {
            "bernoulli" | "quasibinomial" | "modified_huber" => Some(Link::Logit),
            "multinomial" | "poisson" | "gamma" | "tweedie" => Some(Link::Log),
            "gaussian" | "huber" | "laplace" | "quantile" | "AUTO" => Some(Link::Identity),
            // ordinal, fractionalbinomial, negativebinomial, custom, and names H2O added later.
            _ => None,
        };
        let link = match info.get("link_function") {
            None => default_link,
            Some("identity") => Some(Link::Identity),
            Some("log") => Some(Link::Log),
            Some("logit") => Some(Link::Logit),
            Some(_) => None,
        };
        let described = format!(
            "gbm {distribution} ({} link), {}",
            info.get("link_function").unwrap_or("default"),
            self.iterations()
        );
        let classifier = matches!(
            distribution,
            "bernoulli" | "quasibinomial" | "modified_huber"
        );
        // What H2O's GbmMojoModel.unifyPreds computes, where it is one of these.
        let plan = match (default_link, link, distribution, self.category) {
            (Some(_), Some(Link::Logit), _, Category::Binomial) if classifier => {
                Some(GbmPlan::Logistic)
            }
            (Some(_), _, "multinomial", Category::Binomial | Category::Multinomial)
                if self.n_classes == 2 =>
            {
                Some(GbmPlan::SoftmaxOfTwo)
            }
            (Some(_), _, "multinomial", Category::Multinomial) => Some(GbmPlan::Softmax),
            (Some(_), Some(Link::Identity), _, Category::Regression) if !classifier => {
                Some(GbmPlan::Regression(Link::Identity))
            }
            (Some(_), Some(Link::Log), _, Category::Regression) if !classifier => {
                Some(GbmPlan::Regression(Link::Log))
            }
            _ => None,
        };
        let Some(plan) = plan else {
            if !self.options.margin_only {
                return Err(LoadError::UnknownObjective {
                    path: info.path.into(),
                    objective: format!(
                        "H2O GBM distribution {distribution} with link {} for a {:?} model",
                        info.get("link_function").unwrap_or("(default)"),
                        self.category
                    ),
                });
            }
            // Raw margins only: the per-class sums, with init_f for one tree per iteration.
            let init = (self.per_class == 1).then_some(init_f);
            return Ok(Outputs {
                trees: plain_trees(trees, init),
                groups: self.per_class,
                transform: Transform::Identity,
                average_over: None,
                objective: described,
            });
        };
        let correction = self.correction()?;
        let out = match plan {
            GbmPlan::Logistic => (
                plain_trees(trees, Some(init_f)),
                1,
                probabilities(ProbabilitiesFrom::JavaLogistic, correction, true),
            ),
            GbmPlan::Softmax => (
                plain_trees(trees, None),
                self.n_classes,
                probabilities(ProbabilitiesFrom::JavaSoftmax, correction, false),
            ),
            GbmPlan::SoftmaxOfTwo => {
                // H2O: f = sum + (init_f + offset), then softmax over (f, -f). The second
                // margin sums the same trees negated (exactly -f: rounding is symmetric).
                let f = plain_trees(trees, Some(init_f + 0.0));
                let negated: Vec<Tree> = f.iter().map(negated).collect();
                (
                    f.into_iter().chain(negated).collect(),
                    2,
                    probabilities(ProbabilitiesFrom::JavaSoftmax, correction, true),
                )
            }
            GbmPlan::Regression(link) => (
                plain_trees(trees, Some(init_f)),
                1,
                match link {
                    Link::Log => Transform::JavaExpClamped,
                    _ => Transform::Identity,
                },
            ),
        };
        let (trees, groups, transform) = out;
        Ok(Outputs {
            trees,
            groups,
            transform,
            average_over: None,
            objective: format!("{described}, init_f {init_f:?}{}", self.response_text()),
        })
    }

    fn drf(&self, trees: Vec<(usize, Vec<Node>)>) -> Result<Outputs, LoadError> {
        let n = u32::try_from(self.n_trees).map_err(|_| {
            malformed(
                self.info.path,
                format!("model.ini: `n_trees` = {} is too large", self.n_trees),
            )
        })?;
        let category = format!("{:?}", self.category).to_lowercase();
        let described = format!(
            "drf {category}, {}{}",
            self.iterations(),
            self.response_text()
        );
        // DrfMojoModel.unifyPreds: two classes with one tree per iteration are binomial,
        // whatever the category says.
        let (groups, transform, average_over) = match self.category {
            Category::Regression => (1, Transform::Identity, Some(n)),
            _ if self.n_classes == 2 && self.per_class == 1 => (
                1,
                probabilities(ProbabilitiesFrom::Complement, self.correction()?, true),
                Some(n),
            ),
            _ => (
                self.per_class,
                probabilities(
                    ProbabilitiesFrom::Normalized,
                    self.correction()?,
                    self.n_classes == 2,
                ),
                None,
            ),
        };
        Ok(Outputs {
            trees: plain_trees(trees, None),
            groups,
            transform,
            average_over,
            objective: described,
        })
    }

    /// The `balance_classes` factors `prior / trained` per class (1 where either is 0).
    fn correction(&self) -> Result<Option<Vec<f64>>, LoadError> {
        if self.info.flag("balance_classes")? != Some(true) {
            return Ok(None);
        }
        let prior = self.info.numbers("prior_class_distrib")?;
        let trained = self.info.numbers("model_class_distrib")?;
        if prior.len() != self.n_classes || trained.len() != self.n_classes {
            return Err(malformed(
                self.info.path,
                format!(
                    "model.ini: `prior_class_distrib` and `model_class_distrib` need {} values (one per class)",
                    self.n_classes
                ),
            ));
        }
        Ok(Some(
            prior
                .iter()
                .zip(&trained)
                .map(|(&p, &m)| if p != 0.0 && m != 0.0 { p / m } else { 1.0 })
                .collect(),
        ))
    }

    /// `30 iterations of 1 tree`, `15 iterations of 3 trees (one per class)`.
    fn iterations(&self) -> String {
        match self.per_class {
            1 => format!("{} iterations of 1 tree", self.n_trees),
            k => format!("{} iterations of {k} trees (one per class)", self.n_trees),
        }
    }

    /// `; response `y`: level, level, ...` (the levels for classifiers).
    fn response_text(&self) -> String {
        if self.levels.is_empty() {
            return format!("; response `{}`", self.response);
        }
        let shown: Vec<&str> = self.levels.iter().take(10).map(String::as_str).collect();
        let more = if self.levels.len() > 10 { ", ..." } else { "" };
        format!("; response `{}`: {}{more}", self.response, shown.join(", "))
    }
}

/// How a GBM model's margins become predictions.
#[derive(Debug, Clone, Copy)]
enum GbmPlan {
    Logistic,
    Softmax,
    SoftmaxOfTwo,
    Regression(Link),
}

fn probabilities(
    from: ProbabilitiesFrom,
    correction: Option<Vec<f64>>,
    last_only: bool,
) -> Transform {
    Transform::Probabilities(Probabilities {
        from,
        correction,
        last_only,
    })
}

/// IR trees, each adding to its class's margin; `init` (GBM's `init_f`) is added after the
/// trees of margin 0 as a single-leaf tree (H2O adds it to the finished sum).
fn plain_trees(trees: Vec<(usize, Vec<Node>)>, init: Option<f64>) -> Vec<Tree> {
    let mut out: Vec<Tree> = trees
        .into_iter()
        .map(|(group, nodes)| Tree::new(nodes, group))
        .collect();
    // Adding 0.0 to a sum that is never -0.0 changes nothing: leave the tree out.
    if let Some(v) = init.filter(|&v| v != 0.0) {
        let last_of_group_0 = out.iter().rposition(|t| t.group == 0).map_or(0, |i| i + 1);
        out.insert(
            last_of_group_0,
            Tree::new(vec![Node::Leaf(Leaf::Scalar(v))], 0),
        );
    }
    out
}

/// The same tree for margin 1 with every leaf negated.
fn negated(tree: &Tree) -> Tree {
    Tree {
        nodes: tree
            .nodes
            .iter()
            .map(|n| match n {
                Node::Leaf(Leaf::Scalar(v)) => Node::Leaf(Leaf::Scalar(-v)),
                other => other.clone(),
            })
            .collect(),
        group: 1,
        weight: None,
        cover: tree.cover.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_file_names() {
        assert_eq!(tree_file("trees/t00_000.bin"), Some((0, 0)));
        assert_eq!(tree_file("trees/t02_1234.bin"), Some((2, 1234)));
        assert_eq!(tree_file("trees/t00_000_aux.bin"), None);
        assert_eq!(tree_file("trees/tx_000.bin"), None);
        assert_eq!(tree_file("domains/d000.txt"), None);
    }

    #[test]
    fn init_f_follows_the_first_margins_trees() {
        let leaf = |v| (0, vec![Node::Leaf(Leaf::Scalar(v))]);
        let trees = plain_trees(vec![leaf(1.0), leaf(2.0)], Some(0.5));
        let values: Vec<f64> = trees
            .iter()
            .map(|t| match &t.nodes[0] {
                Node::Leaf(Leaf::Scalar(v)) => *v,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(values, [1.0, 2.0, 0.5]);
        assert_eq!(plain_trees(vec![leaf(1.0)], Some(0.0)).len(), 1);
    }

    #[test]
    fn split_trees_keep_their_shape_when_negated() {
        let t = Tree {
            nodes: vec![
                Node::Split(crate::ir::Split {
                    feature: 0,
                    test: crate::ir::Test::Numerical {
                        threshold: 0.5,
                        comparison: crate::ir::Comparison::Less,
                    },
                    left: 1,
                    right: 2,
                    default_left: true,
                }),
                Node::Leaf(Leaf::Scalar(1.0)),
                Node::Leaf(Leaf::Scalar(-2.0)),
            ],
            group: 0,
            weight: None,
            cover: None,
        };
        let n = negated(&t);
        assert_eq!(n.group, 1);
        assert_eq!(n.nodes[0], t.nodes[0]);
        assert_eq!(n.nodes[1], Node::Leaf(Leaf::Scalar(-1.0)));
        assert_eq!(n.nodes[2], Node::Leaf(Leaf::Scalar(2.0)));
    }
}
