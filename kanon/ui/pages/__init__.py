"""Dashboard pages, one script each; `kanon.ui.navigation` lists them with the action each needs."""
