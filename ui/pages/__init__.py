"""Dashboard pages, one script each; `ui.navigation` lists them with the action each needs."""
