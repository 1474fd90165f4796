//! The same metadata-store test on every backend: an in-memory SQLite store and a fresh
//! PostgreSQL database each, and for the several-instance cases two stores opened on one file
//! or one database.

use std::sync::Arc;

use vistoria_central::storage::MetadataStore;
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_central::storage::sqlite::SqliteMetadata;

use super::services::TestDatabase;

/// A test of one store.
pub type StoreTest = fn(&dyn MetadataStore);

/// A test of several instances: each call of its argument opens another store on the same data.
pub type InstancesTest = fn(&dyn Fn() -> Arc<dyn MetadataStore>);

pub fn on_sqlite(test: StoreTest) {
    test(&SqliteMetadata::in_memory().unwrap());
}

pub fn on_postgres(test: StoreTest) {
    let db = TestDatabase::new();
    test(&PgMetadata::connect(&db.url, 4).unwrap());
}

pub fn instances_on_sqlite(test: InstancesTest) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    test(&|| Arc::new(SqliteMetadata::open(&path).unwrap()));
}

pub fn instances_on_postgres(test: InstancesTest) {
    let db = TestDatabase::new();
    test(&|| Arc::new(PgMetadata::connect(&db.url, 8).unwrap()));
}

/// Declares `on_sqlite::NAME` and `on_postgres::NAME` for each test of one store, and the same
/// for each test of several instances listed after `instances:`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)? $(; instances: $($pair:ident),* $(,)?)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $name() {
                    $crate::common::backends::on_sqlite(super::$name);
                }
            )*
            $($(
                #[test]
                fn $pair() {
                    $crate::common::backends::instances_on_sqlite(super::$pair);
                }
            )*)?
        }

        mod on_postgres {
            $(
                #[test]
                fn $name() {
                    $crate::common::backends::on_postgres(super::$name);
                }
            )*
            $($(
                #[test]
                fn $pair() {
                    $crate::common::backends::instances_on_postgres(super::$pair);
                }
            )*)?
        }
    };
}
