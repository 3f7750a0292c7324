package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// switchFlag reads a pair of flags --NAME and --no-NAME: nil when neither
// is given.
func (c *cli) switchFlag(name string) (*bool, error) {
	on, off := c.args.has(name), c.args.has("no-"+name)
	switch {
	case on && off:
		return nil, usagef("give --%s or --no-%s, not both", name, name)
	case on || off:
		return &on, nil
	}
	return nil, nil
}

// jsonFlag decodes the JSON value of flag name into v when the flag is
// given.
func (c *cli) jsonFlag(name string, v any) error {
	if !c.args.has(name) {
		return nil
	}
	if err := json.Unmarshal([]byte(c.args.str(name)), v); err != nil {
		return usagef("--%s takes JSON: %v", name, err)
	}
	return nil
}

// storeSettings reads the flags of the settings of an event data store.
func (c *cli) storeSettings() (api.EventDataStoreSettings, error) {
	in := api.EventDataStoreSettings{KmsKeyId: c.args.str("kms-key-id"), BillingMode: c.args.str("billing-mode")}
	if c.args.has("retention-period") {
		days, err := c.args.int("retention-period")
		if err != nil {
			return in, err
		}
		in.RetentionPeriod = &days
	}
	var err error
	for _, f := range []struct {
		name string
		dst  **bool
	}{
		{"termination-protection-enabled", &in.TerminationProtectionEnabled},
		{"multi-region-enabled", &in.MultiRegionEnabled},
		{"organization-enabled", &in.OrganizationEnabled},
	} {
		if *f.dst, err = c.switchFlag(f.name); err != nil {
			return in, err
		}
	}
	if c.args.has("advanced-event-selectors") {
		if in.AdvancedEventSelectors, err = parseSelectors(c.args.list("advanced-event-selectors")); err != nil {
			return in, usagef("--advanced-event-selectors: %v", err)
		}
	}
	return in, nil
}

func cmdCreateEventDataStore(ctx context.Context, c *cli) error {
	if err := c.requireFlag("name"); err != nil {
		return err
	}
	settings, err := c.storeSettings()
	if err != nil {
		return err
	}
	in := api.CreateEventDataStoreInput{Name: c.args.str("name"), EventDataStoreSettings: settings}
	if in.StartIngestion, err = c.switchFlag("start-ingestion"); err != nil {
		return err
	}
	if err := c.jsonFlag("tags-list", &in.TagsList); err != nil {
		return err
	}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.CreateEventDataStore(ctx, in) })
}

func cmdUpdateEventDataStore(ctx context.Context, c *cli) error {
	if err := c.requireFlag("event-data-store"); err != nil {
		return err
	}
	settings, err := c.storeSettings()
	if err != nil {
		return err
	}
	in := api.UpdateEventDataStoreInput{EventDataStore: c.args.str("event-data-store"), Name: c.args.str("name"), EventDataStoreSettings: settings}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.UpdateEventDataStore(ctx, in) })
}

// cmdDeleteEventDataStore deletes an event data store and, as the AWS CLI
// does for an empty response, prints nothing. With --now it removes the
// store and its events at once: that needs the database, not a server.
func cmdDeleteEventDataStore(ctx context.Context, c *cli) error {
	if err := c.requireFlag("event-data-store"); err != nil {
		return err
	}
	now := c.args.has("now")
	if now && c.endpoint != "" {
		return usagef("--now removes the events from the database, which a server does not offer; run it without --endpoint-url")
	}
	svc, done, err := c.service(ctx, "ctimport "+c.args.command)
	if err != nil {
		return err
	}
	defer done()
	dest := c.args.str("event-data-store")
	if _, err := svc.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: dest}); err != nil {
		return err
	}
	if now {
		return svc.(*engine.Engine).Purge(ctx, dest)
	}
	return nil
}

func cmdRestoreEventDataStore(ctx context.Context, c *cli) error {
	if err := c.requireFlag("event-data-store"); err != nil {
		return err
	}
	in := api.RestoreEventDataStoreInput{EventDataStore: c.args.str("event-data-store")}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.RestoreEventDataStore(ctx, in) })
}

// pruneOutput is what prune prints.
type pruneOutput struct {
	// EventDataStores holds, for each event data store pruned, how many
	// events were removed as past its retention period.
	EventDataStores []prunedStore
}

type prunedStore struct {
	EventDataStore string // the store's ID
	EventsRemoved  int64
}

// cmdPrune removes from every event data store the events past its
// retention period, which an import does for its store when it starts and
// a server does daily. Opening the database for writing removes the stores
// deleted DeletionWait ago.
func cmdPrune(ctx context.Context, c *cli) error {
	if c.endpoint != "" {
		return usagef("not an operation of the API: a server prunes its database daily by itself; run prune where the database is, without --endpoint-url")
	}
	eng, done, err := c.open(ctx, duckdbsink.Options{Holder: "ctimport prune"}, engine.Options{})
	if err != nil {
		return err
	}
	defer done()
	m, err := eng.Maintain(ctx)
	if err != nil {
		return err
	}
	out := pruneOutput{EventDataStores: []prunedStore{}}
	for _, id := range slices.Sorted(maps.Keys(m.Expired)) {
		out.EventDataStores = append(out.EventDataStores, prunedStore{EventDataStore: id, EventsRemoved: m.Expired[id]})
	}
	return c.output(out)
}
