//! `cargo uniffi-bindgen generate --library <libpassage_ffi> --language kotlin|swift`:
//! the generator at exactly the version the library was built with, so the generated
//! Kotlin and Swift always match the scaffolding (a mismatch would fail only at run
//! time, when the app first calls into the library).

fn main() {
    uniffi::uniffi_bindgen_main()
}
