-- Ground-truth labels for monitored predictions (concept drift). A label belongs to a monitor
-- and is joined to the serving prediction log by request id at each check. Posting a label for
-- a request id again replaces it (last write wins).
CREATE TABLE monitor_labels (
  monitor_id TEXT NOT NULL REFERENCES monitors(id),
  request_id TEXT NOT NULL,
  -- The label as JSON: a number or a string.
  label TEXT NOT NULL,
  -- When the label was observed (given, or the time it was posted).
  ts BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (monitor_id, request_id)
);
