"""Sinks for run events (core/sinks.py): an Azure Storage queue, an Event Grid topic, a signed webhook.

Each client takes an ordered batch of CloudEvents of one run and says how far it got (`Reply`), over the
shared HTTP layer (platforms/http.py). Retrying a failed delivery is the delivery orchestration's work, on
durable timers; a client never sleeps beyond the HTTP layer's brief connect retry.
"""
