"""NATS nodes: publish messages, make requests and publish to JetStream."""
