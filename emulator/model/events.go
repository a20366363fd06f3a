package model

// EventKind says what changed; subscribers (the iSCSI target) re-read the
// affected view (LUNsFor, Nodes) rather than trusting event payloads alone.
type EventKind int

const (
	// EventMap: a vdisk was mapped to a host (Host, VDiskID, LUN set).
	EventMap EventKind = iota + 1
	// EventUnmap: a mapping was removed (Host, VDiskID, LUN set).
	EventUnmap
	// EventVDiskResize: capacity changed (VDiskID, Capacity set).
	EventVDiskResize
	// EventVDiskDelete: the vdisk and its data file are gone.
	EventVDiskDelete
	// EventNodeStatus: a node went online/offline (Node, Online set).
	EventNodeStatus
	// EventHostChange: a host's ports or CHAP secret changed, or it was removed.
	EventHostChange
	// EventResync: events were dropped for a slow subscriber; re-read everything.
	EventResync
	// EventVDiskData: the vdisk's data file was rewritten by LocalCopy.
	EventVDiskData
)

func (k EventKind) String() string {
	switch k {
	case EventMap:
		return "map"
	case EventUnmap:
		return "unmap"
	case EventVDiskResize:
		return "vdisk-resize"
	case EventVDiskDelete:
		return "vdisk-delete"
	case EventNodeStatus:
		return "node-status"
	case EventHostChange:
		return "host-change"
	case EventResync:
		return "resync"
	case EventVDiskData:
		return "vdisk-data"
	}
	return "unknown"
}

// Event is one change notification.
type Event struct {
	Kind          EventKind
	Host          string   // host object name
	InitiatorIQNs []string // the host's IQNs at the time
	VDiskID       int
	VDiskName     string
	LUN           int
	Capacity      int64
	Node          string
	Online        bool
}

type subscriber struct {
	ch   chan Event
	lost bool
}

const subscriberBuffer = 1024

// Subscribe returns a channel of events and a cancel function. A slow
// subscriber loses events but then receives EventResync.
func (a *Array) Subscribe() (<-chan Event, func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.nextSub
	a.nextSub++
	s := &subscriber{ch: make(chan Event, subscriberBuffer)}
	if a.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	a.subs[id] = s
	return s.ch, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if s, ok := a.subs[id]; ok {
			delete(a.subs, id)
			close(s.ch)
		}
	}
}

// publish is called with a.mu held; it never blocks.
func (a *Array) publish(e Event) {
	for _, s := range a.subs {
		if s.lost {
			select {
			case s.ch <- Event{Kind: EventResync}:
				s.lost = false
			default:
				continue
			}
		}
		select {
		case s.ch <- e:
		default:
			s.lost = true
		}
	}
}
