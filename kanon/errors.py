"""Kanon's own errors: one root, `KanonError`, whose `exit_code` the `kanon` command exits with.

The root is defined in `connectors.errors` (the bottom layer, which `reports` and `connectors`
may import without importing `kanon`) and re-exported here. The tree, each class in the module
that raises it:

    KanonError                      exit 1 unless said otherwise
    ├── InvalidInput (ValueError)       connectors.errors: a bad --out, seed or range
    ├── ConnectorError (RuntimeError)   connectors.base: a source could not answer
    │   ├── OverBudget                      connectors.bigquery
    │   └── QuotaExhausted                  connectors.ga4
    ├── CatalogError (ValueError)       connectors.catalog: outside the allow-list, exit 2
    ├── ExportError (ValueError)        reports.export
    ├── ReleaseError (RuntimeError)     reports.protect: a release that must not be shown
    ├── SettingsError (ValueError)      kanon.settings, exit 2
    ├── SyncError (RuntimeError)        kanon.sync
    ├── SyncFailed                      kanon.cli: a sync stopped by an OSError or DuckDB error
    ├── BackupError                     kanon.backup
    ├── PurgeError                      kanon.retention
    ├── StoreError (RuntimeError)       kanon.store.duckdb_store
    │   (SchemaError, kanon.store.schema, reaches callers as a StoreError)
    │   ├── SyncRunning
    │   └── SourceRefused
    ├── AccountError (ValueError)       kanon.access.accounts
    ├── PreferenceError (ValueError)    kanon.access.preferences
    ├── AccountsFileError (RuntimeError) kanon.access.accounts_file: newer than this Kanon
    ├── OidcConfigError (ValueError)    kanon.access.oidc
    ├── RoleError (ValueError)          kanon.access.roles
    ├── PolicyError                     kanon.policy.config
    │   ├── SaltError                       kanon.policy.request_log
    │   └── HotjarError                     kanon.policy.hotjar
    └── DownloadRefused (PermissionError)  kanon.ui.downloads

"""

from __future__ import annotations

from connectors.errors import EXIT_FAILED, EXIT_USAGE, InvalidInput, KanonError

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "InvalidInput", "KanonError"]
