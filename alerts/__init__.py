"""Alerts for on-call leads: the rota, the messages, the channels that carry them, and the outbox.

An alert's every state change is a row written in the same transaction as one outbox row per
recipient (:mod:`alerts.outbox`); a sender loop claims those rows and hands them to a channel
(:mod:`alerts.channels`). Set-up and the delivery guarantee: docs/alerts.md.
"""
