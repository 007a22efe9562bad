"""The model browser: its screen, the per-model actions and the dialogs only it opens."""
