package lxd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	lxdclient "github.com/canonical/lxd/client"
	"github.com/canonical/lxd/shared/api"
	"github.com/lxnetd/lxnetd/engine"
)

// WatchLifecycle subscribes to LXD's lifecycle events of the remote's
// project and calls onEvent with each event's source path (for example
// "/1.0/networks/br0/forwards/198.51.100.10"; LXD 5.0.2 names the object only
// there); a rename is reported twice, with the new path and then the old
// one (the object is gone from there). It blocks until ctx is done (returns nil) or the event stream
// breaks (returns an error): the LXD client never reconnects, so the caller
// reconnects — Connect again — and re-reads everything, as events may have
// been missed.
//
// onEvent may be called concurrently from several goroutines and in no
// particular order (the client dispatches each event on its own goroutine);
// it should only mark state dirty, never interpret the event. No call is in
// progress or starts after WatchLifecycle has returned.
//
// Events caused by lxnetd's own writes are delivered too: LXD has no way to
// tag requests (requestor.username is the unix user on the socket).
//
// For a project other than "default" the sources carry "?project=<name>",
// and the watch also reports the default project's networks and forwards
// (see below). The event websocket is not counted in Requests.
func (r *Remote) WatchLifecycle(ctx context.Context, onEvent func(source string)) error {
	return r.watchLifecycle(ctx, onEvent, func() {})
}

// watchLifecycle is WatchLifecycle that calls subscribed once the event
// stream is up (before any event), so a reader can tell whether its reads
// started before events could reach it.
func (r *Remote) watchLifecycle(ctx context.Context, onEvent func(source string), subscribed func()) error {
	// A client and transport of its own: its listener shares nothing with
	// operation waits, and closing the transport on return closes the event
	// websocket at once. The pinned client cannot: EventListener.Disconnect
	// leaves the websocket (dialed without a context) and its two goroutines
	// to a sweep that runs once a minute, and ProtocolLXD.Disconnect does
	// nothing.
	wc, wtr, err := r.watchClient(ctx)
	if err != nil {
		return fmt.Errorf("subscribing to events of remote %q: %w", r.name, err)
	}
	defer r.endWatch(wtr)
	c := wc.UseProject(r.project).(*lxdclient.ProtocolLXD)
	c.WithContext(ctx)
	var listener *lxdclient.EventListener
	relevant := func(string) bool { return true }
	if r.project != api.ProjectDefaultName {
		// A project's event stream lacks the objects the project takes from
		// "default" (networks and their forwards unless features.networks is
		// set): listen to all projects and keep this one's and default's
		// networks. A certificate restricted to projects may not do that; it
		// falls back to the project's own stream.
		if listener, err = c.GetEventsAllProjects(); err == nil {
			relevant = func(source string) bool { return eventRelevant(source, r.project) }
		}
	}
	if listener == nil {
		listener, err = c.GetEvents()
	}
	if err != nil {
		return fmt.Errorf("subscribing to events of remote %q: %w", r.name, err)
	}

	var (
		mu      sync.RWMutex
		stopped bool
	)
	_, err = listener.AddHandler([]string{api.EventTypeLifecycle}, func(ev api.Event) {
		var lc api.EventLifecycle
		if err := json.Unmarshal(ev.Metadata, &lc); err != nil || lc.Source == "" || !relevant(lc.Source) {
			return
		}
		mu.RLock()
		defer mu.RUnlock()
		if stopped {
			return
		}
		onEvent(lc.Source)
		if old, ok := renamedFrom(lc.Source, lc.Context); ok {
			onEvent(old)
		}
	})
	if err != nil {
		listener.Disconnect()
		return fmt.Errorf("subscribing to events of remote %q: %w", r.name, err)
	}
	stop := func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
	}
	subscribed()

	broken := make(chan error, 1)
	go func() { broken <- listener.Wait() }()
	select {
	case <-ctx.Done():
		listener.Disconnect()
		<-broken
		stop()
		return nil
	case err := <-broken:
		stop()
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("listener disconnected")
		}
		return fmt.Errorf("event stream of remote %q broke: %w", r.name, err)
	}
}

// Watch is WatchLifecycle with each event's source reduced to the object it
// names (EventOf): the form the daemon consumes. Its first event, once the
// stream is up, is engine.Event{Subscribed: true}.
func (r *Remote) Watch(ctx context.Context, onEvent func(engine.Event)) error {
	return r.watchLifecycle(ctx, func(source string) { onEvent(EventOf(source)) },
		func() { onEvent(engine.Event{Subscribed: true}) })
}

// watchClient dials the client of one watch and registers its transport,
// so that Close can cut the watch.
func (r *Remote) watchClient(ctx context.Context) (*lxdclient.ProtocolLXD, *transport, error) {
	c, tr, err := r.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !r.watches.add(tr) {
		tr.closeAll()
		return nil, nil, errors.New("the connection is closed")
	}
	return c, tr, nil
}

// endWatch closes a watch's connections (its event websocket; the client's
// goroutines then end too) and forgets its transport.
func (r *Remote) endWatch(tr *transport) {
	r.watches.remove(tr)
	tr.closeAll()
}

// eventRelevant says whether an event of an all-projects stream concerns a
// remote scoped to project: objects of that project, and networks (with
// their forwards) of the default project, which projects without
// features.networks use. LXD 5.0.2 appends "?project=<name>" to the source
// of objects outside the default project.
func eventRelevant(source, project string) bool {
	path, query, _ := strings.Cut(source, "?")
	p := api.ProjectDefaultName
	if v, err := url.ParseQuery(query); err == nil && v.Get("project") != "" {
		p = v.Get("project")
	}
	if p == project {
		return true
	}
	return p == api.ProjectDefaultName && strings.HasPrefix(path, "/1.0/networks/")
}
