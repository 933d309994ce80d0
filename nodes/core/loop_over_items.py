"""Loop Over Items (Split in Batches): feed items through a branch in batches, then emit them all."""

from __future__ import annotations

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param


class LoopParameters(Parameters):
    batch_size: int = param(1, title="Batch size", ge=1, le=100_000)


class LoopOverItemsNode(Node):
    """Outputs ``done`` (everything the loop branch returned, once finished) and ``loop`` (the next batch).

    Connect the end of the loop branch back to this node's input. The first
    run stores the items to process in the run's node state; each later run
    adds the branch's items to the results and sends the next batch.
    """

    type = "core.loop_over_items"
    display_name = "Loop Over Items"
    category = Category.FLOW
    description = "Sends items through the 'loop' branch in batches; when all are done, emits the results on 'done'."
    icon = "repeat"
    outputs = ("done", "loop")
    Parameters = LoopParameters
    allows_cycles = True

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        state = ctx.state
        size = ctx.params().batch_size
        if not state.get("active"):
            state["active"] = True
            state["pending"] = [item.to_dict() for item in items]
            state["done"] = []
        else:
            state["done"].extend(item.to_dict() for item in items)
        if state["pending"]:
            batch, state["pending"] = state["pending"][:size], state["pending"][size:]
            return [[], [Item.from_dict(item) for item in batch]]
        finished = [Item.from_dict(item) for item in state["done"]]
        state.clear()
        return [finished, []]
