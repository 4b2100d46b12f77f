//! Three fixture models compiled by `build.rs`, each with a scorer binary in `src/bin/`,
//! for the socket and Kafka end-to-end tests in `tests/`.

timber_runtime::include_model!("binary_logistic");
timber_runtime::include_model!("multi_softprob");
timber_runtime::include_model!("categorical_small");
