"""RabbitMQ nodes: publish messages to queues and exchanges, and get messages from queues."""
