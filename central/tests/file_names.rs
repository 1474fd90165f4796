//! Property test of the central's file-name check (the `manifest` fuzz target's property,
//! bounded so it runs in every `cargo test`): whatever a station sends, an accepted name
//! cannot leave the package's folder or hide from a listing.

use proptest::prelude::*;
use vistoria_central::names::check_file_name;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_names_stay_inside_the_package(name in prop_oneof![
        any::<String>(),
        "[./\\\\a-z0-9_\\-é\\x00 ]{0,140}",
        "\\.{0,3}[a-z]{0,3}\\.{0,3}",
    ]) {
        if check_file_name(&name).is_ok() {
            prop_assert!(!name.is_empty() && name.len() <= 128);
            prop_assert!(!name.starts_with('.') && !name.contains(".."));
            prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        }
    }
}
