"""Panels of the dashboard's pages. Each panel is a function of explicit arguments (the record, the engine,
the stretch on screen, the prompts ...) and owns its own widgets; what another panel needs from it is
returned or offered through a public function of its module, never read from its session keys."""
