"""The jobs screen's widgets: the queue, the highlighted job's box, its log and its report."""
