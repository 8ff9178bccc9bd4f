-- What the misuse detectors read. device_tag is a keyed hash of the raw
-- identifier of the device a device history or unmasking is about, the
-- same in every case (pseudonyms differ per case), so that the same
-- person querying the same device across unrelated cases can be seen
-- without keeping the identifier in the clear.
ALTER TABLE queries ADD COLUMN device_tag TEXT NOT NULL DEFAULT '';
CREATE INDEX queries_device_tag ON queries (person_id, device_tag) WHERE device_tag <> '';
-- Peers' daily activity, for the volume anomaly detector.
CREATE INDEX queries_component ON queries (component, created_at);
