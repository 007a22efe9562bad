"""Discover's widgets: the search line, the results (with each repo's best file here) and a repo's files."""
