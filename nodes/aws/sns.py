"""AWS SNS: publish a message to a topic (or one phone number) per item."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from nodes.aws._convert import text_body
from nodes.aws.credentials import aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param


class SnsAttribute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", min_length=1, max_length=256)
    value: str = param(title="Value")


class SnsParameters(Parameters):
    operation: Literal["publish"] = param("publish", title="Operation", no_expressions=True)
    target: Literal["topic", "phone"] = param(
        "topic", title="Send to", description="topic: every subscriber; phone: one SMS.", no_expressions=True
    )
    topic_arn: str = param(
        "",
        title="Topic ARN",
        placeholder="arn:aws:sns:eu-west-1:123456789012:orders",
        show_if={"target": ["topic"]},
    )
    phone_number: str = param("", title="Phone number", placeholder="+4915112345678", show_if={"target": ["phone"]})
    subject: str = param(
        "", title="Subject", description="For email subscribers; at most 100 characters.", max_length=100
    )
    message: Any = param(title="Message", description="Text as is; objects are sent as JSON.", widget="textarea")
    attributes: list[SnsAttribute] = param(
        default_factory=list,
        title="Message attributes",
        description="Subscribers' filter policies match on these.",
        advanced=True,
    )
    message_group_id: str = param(
        "", title="Message group id", description="FIFO topics only.", advanced=True, show_if={"target": ["topic"]}
    )

    @model_validator(mode="after")
    def _needs(self) -> SnsParameters:
        if self.target == "topic" and not self.topic_arn.strip().startswith("arn:"):
            raise ValueError("publish needs a topic ARN (arn:aws:sns:...)")
        if self.target == "phone" and not self.phone_number.strip().startswith("+"):
            raise ValueError("the phone number must be in international form, like +4915112345678")
        if self.message in (None, ""):
            raise ValueError("the message is empty")
        return self


class SnsNode(Node):
    type = "aws.sns"
    display_name = "AWS SNS"
    category = Category.INTEGRATION
    description = "Publishes a message per item to an SNS topic's subscribers or as an SMS."
    icon = "radio-tower"
    Parameters = SnsParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "sns", timeout)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SnsParameters = ctx.params(index)
            options: dict[str, Any] = {"Message": text_body(params.message)}
            if params.target == "topic":
                options["TopicArn"] = params.topic_arn.strip()
                where = options["TopicArn"].rsplit(":", 1)[-1]
            else:
                options["PhoneNumber"] = params.phone_number.strip()
                where = "the phone number"
            if params.subject:
                options["Subject"] = params.subject
            if params.attributes:
                options["MessageAttributes"] = {
                    attribute.name: {"DataType": "String", "StringValue": attribute.value}
                    for attribute in params.attributes
                }
            if params.message_group_id and params.target == "topic":
                options["MessageGroupId"] = params.message_group_id
            answer = call(fields, f"publishing to {where}", client.publish, item_index=index, **options)
            published = {"message_id": answer.get("MessageId")}
            if "TopicArn" in options:
                published["topic_arn"] = options["TopicArn"]
            produced.append(Item(published, paired_item=index))
        return [produced]
