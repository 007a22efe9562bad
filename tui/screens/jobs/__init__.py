"""The jobs screen and the new-job form it opens."""
