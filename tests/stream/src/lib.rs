//! Three fixture models (and a wide one made from the first) compiled by `build.rs`, each with a scorer binary in `src/bin/`,
//! for the socket and Kafka end-to-end tests in `tests/` and the `stream-bench` tool; and the
//! harness they share: [`harness`] (scorer processes, fixtures), [`kafka`] (a real broker) and
//! [`sql`] (real PostgreSQL and MariaDB servers for the sink tests).

pub mod harness;
pub mod kafka;
pub mod sql;

timber_runtime::include_model!("binary_logistic");
timber_runtime::include_model!("multi_softprob");
timber_runtime::include_model!("categorical_small");
timber_runtime::include_model!("wide");
