package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// DeletionWait is how long a deleted event data store stays
// PENDING_DELETION, and can be restored, before PurgeDeleted removes it
// with its events: seven days, as in CloudTrail Lake.
const DeletionWait = 7 * 24 * time.Hour

var storeNameRE = regexp.MustCompile(`^[a-zA-Z0-9._\-]{3,128}$`)

// checkName refuses a name that CloudTrail would not give an event data
// store.
func checkName(name string) error {
	if !storeNameRE.MatchString(name) {
		return api.ErrInvalidParameter.New("event data store name %q must be 3 to 128 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// applySettings sets on s what in asks for, and refuses the members that
// ctimport cannot honour with the exception the API model names for them.
func applySettings(s *sink.EventDataStore, in api.EventDataStoreSettings) error {
	switch {
	case in.MultiRegionEnabled != nil && !*in.MultiRegionEnabled:
		return api.ErrUnsupportedOperation.New("an event data store keeps the events of every region imported into it; MultiRegionEnabled cannot be false")
	case in.OrganizationEnabled != nil && *in.OrganizationEnabled:
		return api.ErrUnsupportedOperation.New("ctimport does not collect the events of an organization; OrganizationEnabled cannot be true")
	case in.KmsKeyId != "":
		return api.ErrUnsupportedOperation.New("ctimport does not encrypt event data stores with KMS keys; KmsKeyId is not supported")
	case in.BillingMode != "":
		return api.ErrUnsupportedOperation.New("ctimport has no billing modes; BillingMode is not supported")
	}
	if p := in.RetentionPeriod; p != nil {
		if *p < api.MinRetentionPeriod || *p > api.MaxRetentionPeriod {
			return api.ErrInvalidParameter.New("RetentionPeriod must be %d to %d days, not %d", api.MinRetentionPeriod, api.MaxRetentionPeriod, *p)
		}
		s.RetentionPeriod = *p
	}
	if in.TerminationProtectionEnabled != nil {
		s.TerminationProtection = *in.TerminationProtectionEnabled
	}
	if len(in.AdvancedEventSelectors) > 0 {
		if _, err := selector.Compile(in.AdvancedEventSelectors); err != nil {
			return err
		}
		b, err := json.Marshal(in.AdvancedEventSelectors)
		if err != nil {
			return fmt.Errorf("engine: advanced event selectors: %w", err)
		}
		s.Selectors = string(b)
	}
	return nil
}

// selectors returns the advanced event selectors of s; nil when it has
// none.
func selectors(s sink.EventDataStore) ([]api.AdvancedEventSelector, error) {
	if s.Selectors == "" {
		return nil, nil
	}
	var sels []api.AdvancedEventSelector
	if err := json.Unmarshal([]byte(s.Selectors), &sels); err != nil {
		return nil, fmt.Errorf("engine: advanced event selectors of event data store %s: %w", s.ID, err)
	}
	return sels, nil
}

// storeMatcher compiles the advanced event selectors of event data store
// s, as they are now: the events an import run into it stores.
func storeMatcher(s sink.EventDataStore) (*selector.Matcher, error) {
	sels, err := selectors(s)
	if err != nil {
		return nil, err
	}
	m, err := selector.Compile(sels)
	if err != nil {
		return nil, fmt.Errorf("engine: advanced event selectors of event data store %s: %w", s.ID, err)
	}
	return m, nil
}

// CreateEventDataStore creates an event data store, with CloudTrail Lake's
// retention period and termination protection unless in sets them.
func (e *Engine) CreateEventDataStore(ctx context.Context, in api.CreateEventDataStoreInput) (api.EventDataStore, error) {
	if err := checkName(in.Name); err != nil {
		return api.EventDataStore{}, err
	}
	id, now := uuid.NewString(), e.now()
	s := sink.EventDataStore{
		ID:                    id,
		Name:                  in.Name,
		ARN:                   fmt.Sprintf("arn:aws:cloudtrail:%s:%s:eventdatastore/%s", e.opts.Region, e.opts.Account, id),
		Created:               now,
		Updated:               now,
		RetentionPeriod:       api.DefaultRetentionPeriod,
		TerminationProtection: true,
	}
	if err := applySettings(&s, in.EventDataStoreSettings); err != nil {
		return api.EventDataStore{}, err
	}
	switch {
	case len(in.TagsList) > 0:
		return api.EventDataStore{}, api.ErrUnsupportedOperation.New("ctimport does not tag event data stores; TagsList is not supported")
	case in.StartIngestion != nil && *in.StartIngestion:
		return api.EventDataStore{}, api.ErrUnsupportedOperation.New("ctimport does not ingest live events; StartIngestion cannot be true")
	}
	if err := e.store.CreateEventDataStore(ctx, s); err != nil {
		return api.EventDataStore{}, storeError("create", s, err)
	}
	return storeOut(s)
}

// storeError returns the error of the store's op on s: an
// EventDataStoreAlreadyExistsException when s's name is taken.
func storeError(op string, s sink.EventDataStore, err error) error {
	if errors.Is(err, sink.ErrExists) {
		return api.ErrEventDataStoreAlreadyExists.New("an event data store named %q already exists", s.Name)
	}
	return fmt.Errorf("engine: %s event data store: %w", op, err)
}

// ListEventDataStores lists the event data stores, oldest first.
func (e *Engine) ListEventDataStores(ctx context.Context, in api.ListEventDataStoresInput) (api.ListEventDataStoresOutput, error) {
	max, err := maxResults(in.MaxResults, api.ErrInvalidMaxResults)
	if err != nil {
		return api.ListEventDataStoresOutput{}, err
	}
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return api.ListEventDataStoresOutput{}, fmt.Errorf("engine: list event data stores: %w", err)
	}
	page, next, err := paginate(stores, func(s sink.EventDataStore) string { return s.ID }, in.NextToken, "stores", max)
	if err != nil {
		return api.ListEventDataStoresOutput{}, err
	}
	out := api.ListEventDataStoresOutput{EventDataStores: []api.EventDataStore{}, NextToken: next}
	for _, s := range page {
		eds, err := storeOut(s)
		if err != nil {
			return api.ListEventDataStoresOutput{}, err
		}
		out.EventDataStores = append(out.EventDataStores, eds)
	}
	return out, nil
}

// storeOut describes s as the API does.
func storeOut(s sink.EventDataStore) (api.EventDataStore, error) {
	status := api.EventDataStoreEnabled
	if !s.Deleted.IsZero() {
		status = api.EventDataStorePendingDeletion
	}
	sels, err := selectors(s)
	return api.EventDataStore{
		EventDataStoreArn:            s.ARN,
		Name:                         s.Name,
		Status:                       status,
		RetentionPeriod:              s.RetentionPeriod,
		TerminationProtectionEnabled: s.TerminationProtection,
		CreatedTimestamp:             s.Created,
		UpdatedTimestamp:             s.Updated,
		AdvancedEventSelectors:       sels,
	}, err
}

var arnRE = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore/([a-zA-Z0-9\-]{3,128})$`)

// resolveStore finds the event data store named by dest: its ARN, its name
// or its ID.
func (e *Engine) resolveStore(ctx context.Context, dest string) (sink.EventDataStore, error) {
	var id string
	if len(dest) >= 4 && dest[:4] == "arn:" {
		m := arnRE.FindStringSubmatch(dest)
		if m == nil {
			return sink.EventDataStore{}, api.ErrEventDataStoreARNInvalid.New("%q is not an event data store ARN (arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>)", dest)
		}
		id = m[1]
	}
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return sink.EventDataStore{}, fmt.Errorf("engine: list event data stores: %w", err)
	}
	for _, s := range stores {
		if (id != "" && s.ID == id) || (id == "" && (s.Name == dest || s.ID == dest)) {
			return s, nil
		}
	}
	return sink.EventDataStore{}, api.ErrEventDataStoreNotFound.New("no event data store %q", dest)
}

// storeArg resolves the EventDataStore member of a request, which is
// required.
func (e *Engine) storeArg(ctx context.Context, dest string) (sink.EventDataStore, error) {
	if dest == "" {
		return sink.EventDataStore{}, api.ErrInvalidParameter.New("EventDataStore is required")
	}
	return e.resolveStore(ctx, dest)
}

// activeStore resolves dest, and refuses a store pending deletion with
// InactiveEventDataStoreException.
func (e *Engine) activeStore(ctx context.Context, dest string) (sink.EventDataStore, error) {
	s, err := e.storeArg(ctx, dest)
	if err == nil && !s.Deleted.IsZero() {
		err = api.ErrInactiveEventDataStore.New("event data store %s is PENDING_DELETION; restore it first", s.ID)
	}
	return s, err
}

// GetEventDataStore describes the event data store named by its ARN, its
// name or its ID.
func (e *Engine) GetEventDataStore(ctx context.Context, in api.GetEventDataStoreInput) (api.EventDataStore, error) {
	s, err := e.storeArg(ctx, in.EventDataStore)
	if err != nil {
		return api.EventDataStore{}, err
	}
	return storeOut(s)
}

// importInto returns the ID of an import of this Engine running into event
// data store storeID, or "". The caller holds e.mu.
func (e *Engine) importInto(storeID string) string {
	for id, r := range e.runs {
		if !r.ended() && r.storeID == storeID {
			return id
		}
	}
	return ""
}

// UpdateEventDataStore changes the name, retention period, termination
// protection or advanced event selectors of an event data store that is
// not pending deletion and has no import running; its ARN and ID stay.
// A shorter retention period removes the events that fall outside it.
// Selectors given replace the store's; they apply to the import runs that
// start afterwards, and the events the store holds stay.
func (e *Engine) UpdateEventDataStore(ctx context.Context, in api.UpdateEventDataStoreInput) (api.EventDataStore, error) {
	s, err := e.activeStore(ctx, in.EventDataStore)
	if err != nil {
		return api.EventDataStore{}, err
	}
	retention := s.RetentionPeriod
	if in.Name != "" {
		if err := checkName(in.Name); err != nil {
			return api.EventDataStore{}, err
		}
		s.Name = in.Name
	}
	if err := applySettings(&s, in.EventDataStoreSettings); err != nil {
		return api.EventDataStore{}, err
	}
	s.Updated = e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if id := e.importInto(s.ID); id != "" {
		return api.EventDataStore{}, api.ErrEventDataStoreHasOngoingImport.New("import %s into event data store %s is running", id, s.ID)
	}
	if err := e.store.UpdateEventDataStore(ctx, s); err != nil {
		return api.EventDataStore{}, storeError("update", s, err)
	}
	if s.RetentionPeriod < retention {
		if _, _, err := e.pruneStore(ctx, s); err != nil {
			return api.EventDataStore{}, err
		}
	}
	return storeOut(s)
}

// DeleteEventDataStore puts an event data store that has termination
// protection off and no import running in PENDING_DELETION: queries no
// longer find it, imports into it are refused, and PurgeDeleted removes it
// once DeletionWait has passed, unless RestoreEventDataStore brings it back.
func (e *Engine) DeleteEventDataStore(ctx context.Context, in api.DeleteEventDataStoreInput) (api.DeleteEventDataStoreOutput, error) {
	s, err := e.activeStore(ctx, in.EventDataStore)
	if err != nil {
		return api.DeleteEventDataStoreOutput{}, err
	}
	if s.TerminationProtection {
		return api.DeleteEventDataStoreOutput{}, api.ErrEventDataStoreTerminationProtected.New("event data store %s has termination protection; turn it off with UpdateEventDataStore first", s.ID)
	}
	now := e.now()
	s.Deleted, s.Updated = now, now
	e.mu.Lock()
	defer e.mu.Unlock()
	if id := e.importInto(s.ID); id != "" {
		return api.DeleteEventDataStoreOutput{}, api.ErrEventDataStoreHasOngoingImport.New("import %s into event data store %s is running", id, s.ID)
	}
	if err := e.store.UpdateEventDataStore(ctx, s); err != nil {
		return api.DeleteEventDataStoreOutput{}, fmt.Errorf("engine: delete event data store: %w", err)
	}
	return api.DeleteEventDataStoreOutput{}, nil
}

// RestoreEventDataStore brings back, ENABLED and with all its events, an
// event data store deleted less than DeletionWait ago. One deleted longer
// ago is removed, and reported not found.
func (e *Engine) RestoreEventDataStore(ctx context.Context, in api.RestoreEventDataStoreInput) (api.EventDataStore, error) {
	s, err := e.storeArg(ctx, in.EventDataStore)
	if err != nil {
		return api.EventDataStore{}, err
	}
	if s.Deleted.IsZero() {
		return api.EventDataStore{}, api.ErrInvalidEventDataStoreStatus.New("event data store %s is %s; only one that is %s can be restored", s.ID, api.EventDataStoreEnabled, api.EventDataStorePendingDeletion)
	}
	if e.expired(s) {
		if err := e.drop(ctx, s); err != nil {
			return api.EventDataStore{}, err
		}
		return api.EventDataStore{}, api.ErrEventDataStoreNotFound.New("event data store %s was deleted more than %d days ago; its events are removed", s.ID, int(DeletionWait.Hours()/24))
	}
	s.Deleted, s.Updated = time.Time{}, e.now()
	if err := e.store.UpdateEventDataStore(ctx, s); err != nil {
		return api.EventDataStore{}, fmt.Errorf("engine: restore event data store: %w", err)
	}
	return storeOut(s)
}

// expired reports whether s has been pending deletion for DeletionWait.
func (e *Engine) expired(s sink.EventDataStore) bool {
	return !s.Deleted.IsZero() && !e.now().Before(s.Deleted.Add(DeletionWait))
}

func (e *Engine) drop(ctx context.Context, s sink.EventDataStore) error {
	if err := e.store.DropEventDataStore(ctx, s.ID); err != nil {
		return fmt.Errorf("engine: remove event data store %s: %w", s.ID, err)
	}
	return nil
}

// PurgeDeleted removes, with their events, the event data stores that have
// been PENDING_DELETION for DeletionWait, and returns their IDs. The
// commands that open a database for writing call it.
func (e *Engine) PurgeDeleted(ctx context.Context) ([]string, error) {
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: purge event data stores: %w", err)
	}
	var purged []string
	for _, s := range stores {
		if !e.expired(s) {
			continue
		}
		if err := e.drop(ctx, s); err != nil {
			return purged, err
		}
		purged = append(purged, s.ID)
	}
	return purged, nil
}

// retentionStart returns the start of s's retention period now: its
// events from before it are past the period. It is the zero time for a
// store that keeps events for ever.
func (e *Engine) retentionStart(s sink.EventDataStore) time.Time {
	if s.RetentionPeriod <= 0 {
		return time.Time{}
	}
	return e.now().Add(-time.Duration(s.RetentionPeriod) * 24 * time.Hour)
}

// pruneStore removes the events of s that are past its retention period,
// and returns how many it removed and the start of the period.
func (e *Engine) pruneStore(ctx context.Context, s sink.EventDataStore) (int64, time.Time, error) {
	start := e.retentionStart(s)
	if start.IsZero() {
		return 0, start, nil
	}
	n, err := e.store.PurgeEvents(ctx, s.ID, start)
	if err != nil {
		return 0, start, fmt.Errorf("engine: remove the events of event data store %s past its retention period: %w", s.ID, err)
	}
	return n, start, nil
}

// MaintenanceInterval is how often a server runs Maintain.
const MaintenanceInterval = 24 * time.Hour

// Maintenance is what one Maintain pass removed.
type Maintenance struct {
	// Purged holds the IDs of the event data stores removed, with their
	// events, after DeletionWait.
	Purged []string
	// Expired counts, by event data store ID, the events removed as past
	// the store's retention period.
	Expired map[string]int64
}

// Maintain removes the event data stores that have been PENDING_DELETION
// for DeletionWait, and from every other store the events past its
// retention period. A store with an import running is left for that
// import, which prunes its store when it starts. `ctimport prune` runs it
// once; a server runs it every MaintenanceInterval.
func (e *Engine) Maintain(ctx context.Context) (Maintenance, error) {
	m := Maintenance{Expired: map[string]int64{}}
	var err error
	if m.Purged, err = e.PurgeDeleted(ctx); err != nil {
		return m, err
	}
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return m, fmt.Errorf("engine: prune event data stores: %w", err)
	}
	for _, s := range stores {
		e.mu.Lock()
		running := e.importInto(s.ID) != ""
		e.mu.Unlock()
		if !s.Deleted.IsZero() || running {
			continue
		}
		n, _, err := e.pruneStore(ctx, s)
		if err != nil {
			return m, err
		}
		m.Expired[s.ID] = n
	}
	return m, nil
}

// Purge removes an event data store that is PENDING_DELETION, with its
// events, at once rather than after DeletionWait. CloudTrail Lake has no
// such operation: it is not part of the API.
func (e *Engine) Purge(ctx context.Context, dest string) error {
	s, err := e.storeArg(ctx, dest)
	if err != nil {
		return err
	}
	if s.Deleted.IsZero() {
		return api.ErrInvalidEventDataStoreStatus.New("event data store %s is %s; delete it first", s.ID, api.EventDataStoreEnabled)
	}
	return e.drop(ctx, s)
}

// queryStores returns the IDs of the event data stores a statement names,
// by their ID in any case, and refuses one pending deletion with
// InactiveEventDataStoreException.
func (e *Engine) queryStores(ctx context.Context, statement string) ([]string, error) {
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: list event data stores: %w", err)
	}
	lower := strings.ToLower(statement)
	var ids []string
	for _, s := range stores {
		if !strings.Contains(lower, strings.ToLower(s.ID)) {
			continue
		}
		if !s.Deleted.IsZero() {
			return nil, api.ErrInactiveEventDataStore.New("event data store %s is PENDING_DELETION; restore it to query it", s.ID)
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}
