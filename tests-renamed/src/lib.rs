//! Not a library: the home of `tests/crate_path.rs`, which checks
//! `#[periodic_tasks(crate = path)]` where the `periodic` crate is a dependency renamed to
//! `periodic2` (`periodic2 = { package = "periodic", ... }`). Cargo lets a package depend
//! on one crate under one name only, so this cannot be a test of the `periodic` package
//! itself, whose tests use the name `periodic`.
