"""The model browser's widgets: the models box and table, the running, details, health and pull panels."""
