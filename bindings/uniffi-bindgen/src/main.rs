//! `cargo uniffi-bindgen generate --library <libpassage_ffi> --language kotlin|swift`:
//! the generator at exactly the version the library was built with, so the generated
//! Kotlin and Swift always match the scaffolding (style-anchors.md item 4).

fn main() {
    uniffi::uniffi_bindgen_main()
}
