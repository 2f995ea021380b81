-- Indexes for the offers search's other sort orders, so a page is read in order instead of sorting
-- every active offer.
CREATE INDEX offers_vcpus ON offers (status, vcpus, offer_id);
CREATE INDEX offers_ram ON offers (status, ram_mib, offer_id);
CREATE INDEX offers_newest ON offers (status, published_at, offer_id);
