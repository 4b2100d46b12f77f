//! For tests that run Timber's binaries (the `timber` CLI, a compiled scorer): a fresh
//! scratch directory per test, and a finished command's outcome.

use std::path::PathBuf;
use std::process::Command;

/// A fresh (emptied) directory `group/test` under the test crate's `CARGO_TARGET_TMPDIR`.
pub fn scratch(group: &str, test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How a command ended: whether it succeeded, and what it wrote (which must be UTF-8).
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` to its end.
    pub fn of(command: &mut Command) -> Run {
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        Run {
            success: out.status.success(),
            stdout: String::from_utf8(out.stdout).expect("standard output in UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("standard error in UTF-8"),
        }
    }
}
