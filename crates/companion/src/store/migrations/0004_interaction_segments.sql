-- One row per segment (an agent participant of a conversation), not per conversation: a transfer back
-- to the same agent is a second row. Rows kept from before are keyed by their conversation id.
CREATE TABLE interaction (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    participant_id TEXT,
    customer_participant_id TEXT,
    communication_id TEXT,
    media TEXT NOT NULL DEFAULT 'call',
    kind TEXT NOT NULL DEFAULT 'inbound',
    stage INTEGER NOT NULL,
    ani TEXT,
    first_seen_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    pop_outcome TEXT,
    pop_record TEXT,
    pop_us INTEGER,
    -- The pop as the card showed it, so a card still open comes back after a restart.
    pop_json TEXT
) WITHOUT ROWID;
INSERT INTO interaction(id, conversation_id, participant_id, kind, stage, ani, first_seen_ms, updated_ms, pop_outcome, pop_record, pop_us)
    SELECT id, id, participant_id, 'inbound', stage, ani, first_seen_ms, updated_ms, pop_outcome, pop_record, pop_us FROM conversation;
DROP TABLE conversation;
CREATE INDEX interaction_updated ON interaction(updated_ms);
CREATE INDEX interaction_conversation ON interaction(conversation_id);
-- The outbox is keyed by the interaction too; a queued payload from before names its conversation as
-- its interaction, so it is still delivered under the same Interaction_ID__c.
ALTER TABLE outbox RENAME COLUMN conversation_id TO interaction_id;
ALTER TABLE outbox_event RENAME COLUMN conversation_id TO interaction_id;
UPDATE outbox SET payload = json_set(payload, '$.interaction_id', json_extract(payload, '$.conversation_id'))
    WHERE json_extract(payload, '$.interaction_id') IS NULL;
-- A disposition set in the companion is applied in Genesys too: 'pending', 'applied', 'refused' or
-- 'closed' (Genesys no longer takes one); NULL when it came from Genesys or predates this.
ALTER TABLE outbox ADD COLUMN genesys_wrapup TEXT;
ALTER TABLE outbox ADD COLUMN genesys_next_ms INTEGER;
ALTER TABLE outbox ADD COLUMN genesys_error TEXT;
CREATE INDEX outbox_genesys_wrapup ON outbox(genesys_wrapup, genesys_next_ms);
-- What the agent typed in a wrap-up form and has not submitted: kept per interaction, so it survives a
-- new pop and a restart.
CREATE TABLE wrapup_draft (
    interaction_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    notes TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
