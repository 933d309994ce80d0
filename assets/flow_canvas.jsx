// The workflow canvas: React Flow, wrapped for HITL Studio's Reflex editor.
//
// The browser keeps its own copy of nodes and edges and applies drags and
// selection locally; Python hears only finished actions (nodes moved on drag
// stop, connect, delete, select, drop from the palette, copy/paste, undo/redo,
// sticky-note edits). The graph prop changes only when the workflow's
// structure changes (its `version` goes up); run statuses arrive in their own
// prop and reach the cards through a per-card store, so a status tick never
// re-sends the node list and re-renders only the cards and edges it changed.
// See docs/ARCHITECTURE.md, "Studio".
import React, {
  createContext,
  memo,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import {
  Background,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MiniMap,
  NodeResizer,
  Position,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  getSmoothStepPath,
  useReactFlow,
} from "@xyflow/react";
import { DynamicIcon } from "lucide-react/dynamic";

const NODE_MIME = "application/x-hitl-node";
// Fitting never zooms in past 100 %: a new workflow's single node stays card-sized.
const FIT_OPTIONS = { padding: 0.2, maxZoom: 1 };
const StatusContext = createContext(null);
const HandlersContext = createContext({});

const STATUS_COLOURS = {
  running: "var(--blue-9)",
  succeeded: "var(--green-9)",
  failed: "var(--red-9)",
  waiting: "var(--amber-9)",
  queued: "var(--gray-8)",
  pinned: "var(--violet-9)",
};

function handleTop(index, count) {
  return `${((index + 1) * 100) / (count + 1)}%`;
}

function sameStatus(a, b) {
  if (a === b) return true;
  if (!a || !b) return false;
  const countsA = a.items || [];
  const countsB = b.items || [];
  return (
    a.status === b.status &&
    a.total === b.total &&
    a.message === b.message &&
    countsA.length === countsB.length &&
    countsA.every((count, index) => count === countsB[index])
  );
}

// Run statuses by node id. A card subscribes to its own id only: when a
// 300-entry statuses prop arrives, the cards whose entry did not change keep
// their object and are not rendered again (a context would render all 300).
function createStatusStore() {
  let current = {};
  const listeners = new Map();
  return {
    get: (id) => current[id],
    subscribe(id, listener) {
      if (!listeners.has(id)) listeners.set(id, new Set());
      listeners.get(id).add(listener);
      return () => listeners.get(id).delete(listener);
    },
    // Takes the new statuses, keeps the previous object of each unchanged
    // entry, and tells the subscribers of the ids that changed.
    update(next) {
      const previous = current;
      const merged = {};
      const changed = [];
      for (const [id, entry] of Object.entries(next || {})) {
        const kept = sameStatus(previous[id], entry) ? previous[id] : entry;
        merged[id] = kept;
        if (kept !== previous[id]) changed.push(id);
      }
      for (const id of Object.keys(previous)) if (!(id in merged)) changed.push(id);
      current = merged;
      for (const id of changed) for (const listener of listeners.get(id) || []) listener();
    },
  };
}

function useCardStatus(id) {
  return useCardStatusPart(id, (status) => status);
}

// One part of a card's status, such as an edge's item count: a component
// reading a part renders again only when that part changes, not on every
// tick of its card (`pick` must return a plain value for that to hold).
function useCardStatusPart(id, pick) {
  const store = useContext(StatusContext);
  const subscribe = useCallback((listener) => store.subscribe(id, listener), [store, id]);
  return useSyncExternalStore(subscribe, () => pick(store.get(id)));
}

const pickMessage = (status) => (status && status.message ? status.message : "");

// A smooth-step edge that shows how many items went along it in the last run.
// The count comes from the status store (the source card's entry), not from
// the edge object: a run's statuses change no edge given to React Flow, which
// would otherwise rebuild its edge lookups and re-render every edge. The label
// is an HTML element (React Flow's SVG label measures itself with getBBox, a
// forced layout per edge) that is always there and only shown or hidden: see
// CardFrame for why status ticks insert no elements.
function CountedEdge({ id, source, sourceHandleId, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, style, markerEnd }) {
  const output = Number(String(sourceHandleId || "out-0").slice(4));
  const count = useCardStatusPart(source, (status) => (status && status.items ? status.items[output] : undefined));
  const [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const known = count !== undefined && count !== null;
  const stroke = known ? { ...style, stroke: count > 0 ? "var(--green-9)" : "var(--gray-8)", strokeWidth: 2 } : style;
  return (
    <>
      <BaseEdge id={id} path={path} style={stroke} markerEnd={markerEnd} />
      <EdgeLabelRenderer>
        <div
          className="nodrag nopan"
          data-testid={`edge-count-${id}`}
          style={{
            position: "absolute",
            display: known ? "block" : "none",
            transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)`,
            fontSize: 11,
            padding: "0 4px",
            borderRadius: 4,
            color: "var(--gray-12)",
            background: "var(--color-panel-solid)",
            pointerEvents: "none",
          }}
        >
          {known ? `${count} item${count === 1 ? "" : "s"}` : "no items"}
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

// A card's outline and badge follow its run status. The contents (handles,
// icon, labels) are built by WorkflowNode and come in as children, so when a
// status changes React re-renders this frame and reuses the children as they
// were. The badge and the error line are always in the page, shown or hidden,
// and never empty (an empty element gains a text node when filled): Radix
// Themes' stylesheet has a :root:has(...) rule, so inserting a node anywhere
// makes the browser restyle the whole document (7,800 elements with 300
// cards), which cost more than the rest of a status tick together.
function CardFrame({ id, data, selected, height, children }) {
  const status = useCardStatus(id);
  const state = status ? status.status : data.pinned ? "pinned" : "idle";
  const ring = STATUS_COLOURS[state] || (data.problem ? "var(--red-7)" : selected ? "var(--accent-9)" : "var(--gray-7)");
  const total = status && status.total !== undefined && status.total !== null ? ` · ${status.total}` : "";
  return (
    <div
      className="hitl-node"
      data-testid={`canvas-node-${data.name}`}
      data-status={state}
      title={data.problem || data.description}
      style={{
        width: 200,
        height,
        display: "flex",
        alignItems: "center",
        gap: 10,
        padding: "8px 12px",
        borderRadius: data.trigger ? "28px 8px 8px 28px" : 8,
        border: `2px solid ${ring}`,
        boxShadow: selected ? "0 0 0 3px var(--accent-a5)" : "0 1px 3px var(--black-a3)",
        background: "var(--color-panel-solid)",
        color: "var(--gray-12)",
        opacity: data.disabled ? 0.5 : 1,
        fontFamily: "var(--default-font-family)",
        position: "relative",
      }}
    >
      {children}
      <div
        data-testid={`node-status-${data.name}`}
        style={{
          display: status ? "block" : "none",
          position: "absolute",
          top: -10,
          right: 8,
          fontSize: 10,
          padding: "1px 6px",
          borderRadius: 8,
          color: "white",
          background: ring,
        }}
      >
        {`${state}${total}`}
      </div>
    </div>
  );
}

function CardMessage({ id }) {
  const message = useCardStatusPart(id, pickMessage);
  return (
    <div
      style={{
        display: message ? "block" : "none",
        fontSize: 11,
        color: "var(--red-11)",
        overflow: "hidden",
        textOverflow: "ellipsis",
        whiteSpace: "nowrap",
      }}
    >
      {message || "no error"}
    </div>
  );
}

function WorkflowNode({ id, data, selected }) {
  const height = Math.max(64, 26 * Math.max(data.inputs.length, data.outputs.length) + 12);
  const labelled = data.outputs.length > 1;
  return (
    <CardFrame id={id} data={data} selected={selected} height={height}>
      {data.inputs.map((label, index) => (
        <Handle
          key={`in-${index}`}
          type="target"
          position={Position.Left}
          id={`in-${index}`}
          style={{ top: handleTop(index, data.inputs.length), width: 10, height: 10, background: "var(--gray-9)" }}
          title={label}
        />
      ))}
      <div style={{ flex: "none", color: "var(--accent-11)", display: "flex" }}>
        <DynamicIcon name={data.icon || "box"} size={22} />
      </div>
      <div style={{ minWidth: 0, flex: 1 }}>
        <div style={{ fontWeight: 600, fontSize: 13, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
          {data.name}
        </div>
        <div style={{ fontSize: 11, color: "var(--gray-11)", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
          {data.subtitle || data.label}
        </div>
        <CardMessage id={id} />
      </div>
      {data.outputs.map((label, index) => (
        <React.Fragment key={`out-${index}`}>
          <Handle
            type="source"
            position={Position.Right}
            id={`out-${index}`}
            style={{
              top: handleTop(index, data.outputs.length),
              width: 10,
              height: 10,
              background: label === "error" ? "var(--red-9)" : "var(--gray-9)",
            }}
            title={label}
          />
          {labelled ? (
            <div
              style={{
                position: "absolute",
                right: -6,
                top: handleTop(index, data.outputs.length),
                transform: "translate(100%, -120%)",
                fontSize: 10,
                color: "var(--gray-11)",
                pointerEvents: "none",
                whiteSpace: "nowrap",
              }}
            >
              {label}
            </div>
          ) : null}
        </React.Fragment>
      ))}
    </CardFrame>
  );
}

function StickyNote({ id, data, selected }) {
  const handlers = useContext(HandlersContext);
  const [text, setText] = useState(data.text);
  useEffect(() => setText(data.text), [data.text]);
  const save = (width, height) => handlers.noteChanged({ id, text, width, height });
  return (
    <>
      <NodeResizer
        isVisible={selected && !handlers.readOnly}
        minWidth={160}
        minHeight={80}
        onResizeEnd={(_event, params) => save(Math.round(params.width), Math.round(params.height))}
      />
      <textarea
        className="nodrag nowheel"
        data-testid="sticky-note-text"
        value={text}
        readOnly={handlers.readOnly}
        placeholder="Write a note…"
        onChange={(event) => setText(event.target.value)}
        onBlur={() => {
          if (text !== data.text) save(data.width, data.height);
        }}
        style={{
          width: "100%",
          height: "100%",
          resize: "none",
          border: "none",
          outline: "none",
          padding: 10,
          borderRadius: 6,
          background: "var(--amber-3)",
          color: "var(--gray-12)",
          fontFamily: "var(--default-font-family)",
          fontSize: 13,
          boxShadow: selected ? "0 0 0 2px var(--amber-8)" : "0 1px 3px var(--black-a3)",
        }}
      />
    </>
  );
}

const NODE_TYPES = { workflow: memo(WorkflowNode), sticky: memo(StickyNote) };
const EDGE_TYPES = { counted: memo(CountedEdge) };
const EDGE_OPTIONS = { type: "counted" };

function toNodes(graph, previous) {
  const selected = new Set((previous || []).filter((node) => node.selected).map((node) => node.id));
  const nodes = (graph.nodes || []).map((node) => ({
    id: node.id,
    type: "workflow",
    position: { x: node.x, y: node.y },
    data: node,
    selected: selected.has(node.id),
  }));
  const notes = (graph.notes || []).map((note) => ({
    id: note.id,
    type: "sticky",
    position: { x: note.x, y: note.y },
    width: note.width,
    height: note.height,
    zIndex: -1,
    data: note,
    selected: selected.has(note.id),
  }));
  return [...notes, ...nodes];
}

function toEdges(graph, previous) {
  const selected = new Set((previous || []).filter((edge) => edge.selected).map((edge) => edge.id));
  return (graph.edges || []).map((edge) => ({ ...edge, selected: selected.has(edge.id) }));
}

function isTyping(target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

function Canvas(props) {
  const { graph, statuses, readOnly, colorMode } = props;
  const flow = useReactFlow();
  const [nodes, setNodes] = useState(() => toNodes(graph));
  const [edges, setEdges] = useState(() => toEdges(graph));
  const selection = useRef({ key: "", ids: [] });
  const fitted = useRef(graph.fit_key);
  const call = (name, ...args) => {
    if (typeof props[name] === "function") props[name](...args);
  };

  useEffect(() => {
    setNodes((previous) => toNodes(graph, previous));
    setEdges((previous) => toEdges(graph, previous));
    if (graph.fit_key !== fitted.current) {
      fitted.current = graph.fit_key;
      window.requestAnimationFrame(() => flow.fitView(FIT_OPTIONS));
    }
  }, [graph.version]);

  const onNodesChange = useCallback((changes) => setNodes((current) => applyNodeChanges(changes, current)), []);
  const onEdgesChange = useCallback((changes) => setEdges((current) => applyEdgeChanges(changes, current)), []);

  const onNodeDragStop = useCallback(
    (_event, _node, dragged) => {
      call(
        "onNodesMoved",
        dragged.map((node) => ({ id: node.id, x: Math.round(node.position.x), y: Math.round(node.position.y) })),
      );
    },
    [props.onNodesMoved],
  );

  const onSelectionChange = useCallback(
    ({ nodes: picked, edges: pickedEdges }) => {
      const ids = picked.map((node) => node.id);
      const key = ids.join(",") + "|" + pickedEdges.map((edge) => edge.id).join(",");
      if (key === selection.current.key) return;
      selection.current = { key, ids };
      call("onSelect", ids);
    },
    [props.onSelect],
  );

  const onConnect = useCallback(
    (connection) => {
      call("onConnectNodes", {
        source: connection.source,
        sourceHandle: connection.sourceHandle || "out-0",
        target: connection.target,
        targetHandle: connection.targetHandle || "in-0",
      });
    },
    [props.onConnectNodes],
  );

  const isValidConnection = useCallback(
    (connection) =>
      connection.source !== connection.target &&
      !edges.some(
        (edge) =>
          edge.source === connection.source &&
          edge.target === connection.target &&
          edge.sourceHandle === connection.sourceHandle &&
          edge.targetHandle === connection.targetHandle,
      ),
    [edges],
  );

  const onDelete = useCallback(
    ({ nodes: gone, edges: goneEdges }) => {
      call("onDeleteElements", { nodes: gone.map((node) => node.id), edges: goneEdges.map((edge) => edge.id) });
    },
    [props.onDeleteElements],
  );

  const onDragOver = useCallback((event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }, []);

  const onDrop = useCallback(
    (event) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(NODE_MIME);
      if (!type || readOnly) return;
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      call("onDropNode", { type, x: Math.round(point.x - 100), y: Math.round(point.y - 32) });
    },
    [props.onDropNode, readOnly],
  );

  useEffect(() => {
    const onKey = (event) => {
      if (isTyping(event.target) || readOnly) return;
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const key = event.key.toLowerCase();
      if (key === "c") call("onCopyNodes", selection.current.ids);
      else if (key === "v") call("onPasteNodes");
      else if (key === "z" && event.shiftKey) call("onRedo");
      else if (key === "z") call("onUndo");
      else if (key === "y") call("onRedo");
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [props.onCopyNodes, props.onPasteNodes, props.onUndo, props.onRedo, readOnly]);

  // Statuses go to the store: cards and edges re-render only for their own
  // change, and React Flow's nodes and edges stay as they are.
  const [statusStore] = useState(createStatusStore);
  useLayoutEffect(() => {
    statusStore.update(statuses);
  }, [statuses]);

  const handlers = useMemo(
    () => ({ readOnly, noteChanged: (change) => call("onNoteChange", change) }),
    [readOnly, props.onNoteChange],
  );

  return (
    <HandlersContext.Provider value={handlers}>
      <StatusContext.Provider value={statusStore}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onNodeDragStop={onNodeDragStop}
          onSelectionChange={onSelectionChange}
          onConnect={onConnect}
          isValidConnection={isValidConnection}
          onDelete={onDelete}
          onDragOver={onDragOver}
          onDrop={onDrop}
          onNodeDoubleClick={(_event, node) => call("onOpenNode", node.id)}
          nodesDraggable={!readOnly}
          nodesConnectable={!readOnly}
          deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
          multiSelectionKeyCode={["Shift", "Meta", "Control"]}
          colorMode={colorMode === "dark" ? "dark" : "light"}
          defaultEdgeOptions={EDGE_OPTIONS}
          minZoom={0.1}
          maxZoom={2}
          fitView
          fitViewOptions={FIT_OPTIONS}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={20} />
          <Controls showInteractive={false} />
          <MiniMap pannable zoomable nodeStrokeWidth={3} />
        </ReactFlow>
      </StatusContext.Provider>
    </HandlersContext.Provider>
  );
}

export function FlowCanvas(props) {
  return (
    <div data-testid="flow-canvas" style={{ width: "100%", height: "100%" }}>
      <ReactFlowProvider>
        <Canvas {...props} />
      </ReactFlowProvider>
    </div>
  );
}
