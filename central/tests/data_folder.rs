//! The central's data folder is the server user's alone (issue 17: it was world-readable).

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_data_folder_is_created_or_made_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    vistoria_central::server::open_storage(&fresh, &Default::default()).unwrap();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("media")), 0o700);

    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    vistoria_central::server::open_storage(&old, &Default::default()).unwrap();
    assert_eq!(mode(&old), 0o700);
}
