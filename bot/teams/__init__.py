"""Microsoft Teams transport (botbuilder CloudAdapter). Every Teams-specific line lives in this
package; the rest of the product sees only `run_teams` and the Transport interface, so a move to
the Microsoft 365 Agents SDK changes this folder (docs/teams.md says how)."""

from bot.teams.server import make_web_app, run_teams

__all__ = ["make_web_app", "run_teams"]
