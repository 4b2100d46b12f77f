//! Which batch kernels run: the fastest the CPU supports (AVX-512, else AVX2, else the
//! portable scalar ones; a layout uses the SIMD kernels it has), unless a test or a
//! comparison forces one on the current thread ([`with_kernel`]). Without the `std` feature
//! there is no run-time CPU detection: the SIMD kernels are used when the build targets a
//! CPU that has them (`-C target-feature=+avx512f`, `-C target-cpu=native`).

/// Which kernels batch scoring uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernel {
    /// The fastest the CPU supports: for `f32` tables AVX-512, else AVX2, else scalar.
    #[default]
    Auto,
    /// AVX2 even on a CPU with AVX-512 (scalar without AVX2), for tests and comparisons.
    Avx2,
    /// The portable scalar kernel (for tests and comparisons).
    Scalar,
}

#[cfg(feature = "std")]
std::thread_local! {
    static KERNEL: core::cell::Cell<Kernel> = const { core::cell::Cell::new(Kernel::Auto) };
}

/// Runs `f` with batch scoring on this thread forced to `kernel`, then restores the
/// previous choice (even if `f` panics).
#[cfg(feature = "std")]
pub fn with_kernel<R>(kernel: Kernel, f: impl FnOnce() -> R) -> R {
    struct Restore(Kernel);
    impl Drop for Restore {
        fn drop(&mut self) {
            KERNEL.with(|k| k.set(self.0));
        }
    }
    let _restore = Restore(KERNEL.with(|k| k.replace(kernel)));
    f()
}

/// The kernel asked for on this thread ([`Kernel::Auto`] unless [`with_kernel`] says
/// otherwise).
pub(crate) fn current() -> Kernel {
    #[cfg(feature = "std")]
    {
        KERNEL.with(core::cell::Cell::get)
    }
    #[cfg(not(feature = "std"))]
    {
        Kernel::Auto
    }
}

/// The SIMD instruction sets kernels can use.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simd {
    Avx512,
    Avx2,
}

/// No SIMD kernel on other architectures (yet): the scalar kernel runs.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simd {}

impl Simd {
    fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => "avx512",
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => "avx2",
        }
    }
}

/// Whether the CPU has an x86 feature: detected at run time with `std`, else whether the
/// build targets it.
#[cfg(target_arch = "x86_64")]
macro_rules! cpu_has {
    ($feature:tt) => {{
        #[cfg(feature = "std")]
        {
            std::arch::is_x86_feature_detected!($feature)
        }
        #[cfg(not(feature = "std"))]
        {
            cfg!(target_feature = $feature)
        }
    }};
}

/// The SIMD kernel `kernel` allows on this CPU, if any.
pub(crate) fn simd(kernel: Kernel) -> Option<Simd> {
    #[cfg(target_arch = "x86_64")]
    {
        if kernel == Kernel::Auto && cpu_has!("avx512f") {
            return Some(Simd::Avx512);
        }
        if kernel != Kernel::Scalar && cpu_has!("avx2") {
            return Some(Simd::Avx2);
        }
    }
    let _ = kernel;
    None
}

/// The name of the SIMD kernels batch scoring uses on this thread (where a layout has them):
/// `avx512`, `avx2` or `scalar`.
pub fn kernel_name() -> &'static str {
    simd(current()).map_or("scalar", Simd::name)
}
