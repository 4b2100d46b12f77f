//! XGBoost's own predictor, called through its C API from `libxgboost.so` (the library in
//! the `xgboost-cpu` wheel), loaded at run time so that nothing needs it to build.
//!
//! Only the fastest path is bound: `XGBoosterPredictFromDense`, XGBoost's in-place predict
//! on a dense row-major `f32` array described by a JSON array interface. Shared by the
//! benches and the agreement test (included with `#[path]`); it depends only on
//! `libloading`.
//!
//! The library is found through `TIMBER_XGBOOST_LIB` (what `scripts/xgboost-lib.sh` prints),
//! else in the repository's `.venv-fixtures` (what `scripts/fixtures-venv.sh` creates).

#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};

type Handle = *mut c_void;
type BstUlong = u64;

type CreateFn = unsafe extern "C" fn(*const Handle, BstUlong, *mut Handle) -> c_int;
type FreeFn = unsafe extern "C" fn(Handle) -> c_int;
type LoadModelFn = unsafe extern "C" fn(Handle, *const c_char) -> c_int;
type SetParamFn = unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int;
type PredictFromDenseFn = unsafe extern "C" fn(
    Handle,
    *const c_char,
    *const c_char,
    Handle,
    *mut *const BstUlong,
    *mut BstUlong,
    *mut *const f32,
) -> c_int;
type LastErrorFn = unsafe extern "C" fn() -> *const c_char;
type VersionFn = unsafe extern "C" fn(*mut c_int, *mut c_int, *mut c_int);

/// The loaded library and the functions used.
pub struct XgbLib {
    create: CreateFn,
    free: FreeFn,
    load_model: LoadModelFn,
    set_param: SetParamFn,
    predict_from_dense: PredictFromDenseFn,
    last_error: LastErrorFn,
    version: VersionFn,
    path: PathBuf,
    // Last: the function pointers above must not outlive it.
    _lib: libloading::Library,
}

/// Where the library is: `TIMBER_XGBOOST_LIB`, else `.venv-fixtures` under `repo_root`.
pub fn find_library(repo_root: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TIMBER_XGBOOST_LIB") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("TIMBER_XGBOOST_LIB={} is not a file", p.display()))
        };
    }
    let lib = repo_root.join(".venv-fixtures/lib");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for entry in entries.flatten() {
            for name in ["libxgboost.so", "libxgboost.dylib"] {
                let p = entry.path().join("site-packages/xgboost/lib").join(name);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
    }
    Err(format!(
        "libxgboost not found: TIMBER_XGBOOST_LIB is unset and {} has no xgboost wheel \
         (run `export TIMBER_XGBOOST_LIB=$(scripts/xgboost-lib.sh)`)",
        lib.display()
    ))
}

impl XgbLib {
    /// Loads the library found by [`find_library`].
    pub fn load(repo_root: &Path) -> Result<XgbLib, String> {
        let path = find_library(repo_root)?;
        // SAFETY: loading XGBoost's library runs its static initialisers, which are sound;
        // the symbols below are looked up with the C API's documented signatures.
        unsafe {
            let lib = libloading::Library::new(&path)
                .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get($name)
                        .map_err(|e| format!("{}: {e}", String::from_utf8_lossy($name)))?
                };
            }
            Ok(XgbLib {
                create: sym!(b"XGBoosterCreate"),
                free: sym!(b"XGBoosterFree"),
                load_model: sym!(b"XGBoosterLoadModel"),
                set_param: sym!(b"XGBoosterSetParam"),
                predict_from_dense: sym!(b"XGBoosterPredictFromDense"),
                last_error: sym!(b"XGBGetLastError"),
                version: sym!(b"XGBoostVersion"),
                path,
                _lib: lib,
            })
        }
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// XGBoost's version, e.g. `3.2.0`.
    pub fn version(&self) -> String {
        let (mut a, mut b, mut c) = (0, 0, 0);
        // SAFETY: writes three ints.
        unsafe { (self.version)(&mut a, &mut b, &mut c) };
        format!("{a}.{b}.{c}")
    }

    fn check(&self, rc: c_int, what: &str) -> Result<(), String> {
        if rc == 0 {
            return Ok(());
        }
        // SAFETY: XGBGetLastError returns a NUL-terminated thread-local string.
        let msg = unsafe { CStr::from_ptr((self.last_error)()) };
        Err(format!("{what}: {}", msg.to_string_lossy()))
    }
}

/// A booster holding one model.
pub struct Booster<'a> {
    lib: &'a XgbLib,
    handle: Handle,
    num_features: usize,
}

// The handle is used from one thread at a time (`&mut self` where it matters).
unsafe impl Send for Booster<'_> {}

/// What in-place predict returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The transformed prediction (`predict`).
    Value,
    /// Raw margins (`output_margin=True`).
    Margin,
}

impl<'a> Booster<'a> {
    /// Loads a model file (JSON, as `save_model` writes it).
    pub fn load(lib: &'a XgbLib, model: &Path, num_features: usize) -> Result<Self, String> {
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: no DMatrix (null, 0); writes the new handle.
        lib.check(
            unsafe { (lib.create)(std::ptr::null(), 0, &mut handle) },
            "XGBoosterCreate",
        )?;
        let booster = Booster {
            lib,
            handle,
            num_features,
        };
        let path = CString::new(model.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a live handle and a NUL-terminated path.
        lib.check(
            unsafe { (lib.load_model)(booster.handle, path.as_ptr()) },
            "XGBoosterLoadModel",
        )?;
        Ok(booster)
    }

    /// Sets the number of threads XGBoost predicts with.
    pub fn set_threads(&mut self, n: usize) -> Result<(), String> {
        let (k, v) = (
            c"nthread",
            CString::new(n.to_string()).map_err(|e| e.to_string())?,
        );
        // SAFETY: a live handle and NUL-terminated strings.
        self.lib.check(
            unsafe { (self.lib.set_param)(self.handle, k.as_ptr(), v.as_ptr()) },
            "XGBoosterSetParam(nthread)",
        )
    }

    /// In-place predict on row-major `rows` (`num_features` per row, NaN = missing), over
    /// trees of iterations `0..iteration_end` (0: all). Returns XGBoost's output buffer,
    /// valid until the next call on this booster.
    pub fn predict(
        &mut self,
        rows: &[f32],
        output: Output,
        iteration_end: usize,
    ) -> Result<&[f32], String> {
        let n = rows.len().checked_div(self.num_features).unwrap_or(0);
        if n * self.num_features != rows.len() {
            return Err("rows are not a whole number of rows".into());
        }
        let array = CString::new(format!(
            r#"{{"data":[{},true],"shape":[{n},{}],"strides":null,"typestr":"<f4","version":3}}"#,
            rows.as_ptr() as usize,
            self.num_features
        ))
        .map_err(|e| e.to_string())?;
        let kind = match output {
            Output::Value => 0,
            Output::Margin => 1,
        };
        let config = CString::new(format!(
            r#"{{"type":{kind},"training":false,"iteration_begin":0,"iteration_end":{iteration_end},"strict_shape":false,"missing":NaN,"cache_id":0}}"#
        ))
        .map_err(|e| e.to_string())?;
        let mut shape: *const BstUlong = std::ptr::null();
        let mut dim: BstUlong = 0;
        let mut result: *const f32 = std::ptr::null();
        // SAFETY: `array` describes `rows`, which outlives the call; the out-pointers are
        // valid; the proxy DMatrix is null (no base margin).
        self.lib.check(
            unsafe {
                (self.lib.predict_from_dense)(
                    self.handle,
                    array.as_ptr(),
                    config.as_ptr(),
                    std::ptr::null_mut(),
                    &mut shape,
                    &mut dim,
                    &mut result,
                )
            },
            "XGBoosterPredictFromDense",
        )?;
        // SAFETY: XGBoost returns `dim` extents and a buffer of their product, owned by
        // the booster until its next prediction (tied to `&mut self`).
        unsafe {
            let shape = std::slice::from_raw_parts(shape, dim as usize);
            let len = shape.iter().product::<BstUlong>() as usize;
            Ok(std::slice::from_raw_parts(result, len))
        }
    }
}

impl Drop for Booster<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoosterCreate and is freed once.
        unsafe { (self.lib.free)(self.handle) };
    }
}
