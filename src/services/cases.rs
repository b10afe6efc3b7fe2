//! The triage desk: case lists, the case page, the workflow, notes and messages.
