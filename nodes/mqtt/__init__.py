"""MQTT nodes: publish messages to a broker's topics."""
