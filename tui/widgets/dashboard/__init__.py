"""The dashboard's widgets: the GPU and system panels, their histories, the GPU processes, the facts line."""
