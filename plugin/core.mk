ab_core_sources =
