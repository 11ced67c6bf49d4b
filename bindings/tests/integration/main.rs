//! The bindings' Rust-side behaviour: what crosses the boundary, converted as the apps
//! expect. The same API is exercised from Kotlin on the JVM by android/scripts/jvm-test.sh.

mod store;
