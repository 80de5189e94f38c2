//! Tasks: written by hand or from a plan milestone, completed (logging an engagement when asked), snoozed and reassigned.
