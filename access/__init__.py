"""Who may see what: users and their roles, sign-in sessions, display and API tokens, the audit log.

The dashboard and the JSON API both go through this package (docs/security.md); nothing else
decides who is let in.
"""
