//! Four fixture models (and a wide one made from the first) compiled by `build.rs`, each with a
//! scorer binary in `src/bin/`, for the socket, Kafka, HTTP and sink end-to-end tests in `tests/`
//! and the `stream-bench` tool; and the harness they share: [`harness`] (scorer processes,
//! fixtures), [`kafka`] (a real broker), [`http`] (a minimal HTTP/1.1 client), [`webdriver`]
//! (a headless browser) and [`sql`] (real PostgreSQL and MariaDB servers).

pub mod harness;
pub mod http;
pub mod kafka;
pub mod sql;
pub mod webdriver;

timber_runtime::include_model!("binary_logistic");
timber_runtime::include_model!("multi_softprob");
timber_runtime::include_model!("categorical_small");
timber_runtime::include_model!("lgb_multiclass");
timber_runtime::include_model!("wide");
