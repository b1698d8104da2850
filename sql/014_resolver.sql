-- 014_resolver.sql: the links a brand sets per product for the GS1 Digital
-- Link resolver (server/handlers/resolver.c, docs/resolver.md): one link per
-- product, GS1 link type (gs1:pip, gs1:certificationInfo, ...) and language
-- (hreflang, '' for a link of no language in particular), answered
-- with 307 for ?linkType=..., listed in the Link header and the linkset.
-- gs1:defaultLink and gs1:verificationService are the resolver's own (the
-- landing page and the lookup API) and cannot be set here.
--
-- Few rows, written rarely, read by every server from its cache (NOTIFY
-- packcode_catalog 'product_links'). On Citus the table stays on the
-- coordinator with products.

CREATE TABLE product_links (
    product_sku text NOT NULL REFERENCES products (sku) ON DELETE CASCADE,
    -- the term in the GS1 Web Vocabulary (lib/url.c's list of the brand's types)
    link_type   text NOT NULL CHECK (link_type IN (
                    'pip', 'certificationInfo', 'instructions', 'safetyInfo',
                    'sustainabilityInfo', 'recyclingInfo', 'promotion', 'epil', 'support',
                    'registerProduct', 'review', 'relatedVideo', 'recipeInfo',
                    'nutritionalInfo', 'allergenInfo', 'faqs', 'masterData', 'traceability',
                    'socialMedia')),
    -- an absolute https URL without characters a Link header or HTML would need escaped
    href        text NOT NULL CHECK (length(href) <= 1000 AND href ~ '^https://[^[:space:]<>"\\^`{|}]+$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200
                                     AND title !~ '[[:cntrl:]"\\]'),
    hreflang    text NOT NULL DEFAULT '' CHECK (hreflang ~ '^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$'),
    media_type  text NOT NULL DEFAULT 'text/html'
                CHECK (media_type ~ '^[a-z]+/[a-z0-9.+-]{1,100}$'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_sku, link_type, hreflang)
);

CREATE TRIGGER product_links_changed AFTER INSERT OR UPDATE OR DELETE ON product_links
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- Set (p_href not NULL) a product's link of one type and language, or
-- remove (p_href NULL) its links of one type (of one language when
-- p_hreflang is not NULL). outcome: set | removed | unchanged (nothing to
-- remove) | no_product. Audited as product.link or product.unlink, target
-- the SKU.
CREATE FUNCTION product_link_set(p_actor text, p_client inet, p_sku text, p_type text,
                                 p_href text, p_title text, p_hreflang text, p_media_type text)
RETURNS TABLE (outcome text, updated_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    at timestamptz;
BEGIN
    PERFORM 1 FROM products WHERE sku = p_sku FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_product'::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_href IS NULL THEN
        DELETE FROM product_links
         WHERE product_sku = p_sku AND link_type = p_type
           AND (p_hreflang IS NULL OR hreflang = p_hreflang);
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unchanged'::text, NULL::timestamptz;
            RETURN;
        END IF;
        PERFORM audit_append(p_actor, p_client, 'product.unlink', p_sku,
                             jsonb_build_object('link_type', p_type, 'hreflang', p_hreflang));
        RETURN QUERY SELECT 'removed'::text, now();
        RETURN;
    END IF;
    INSERT INTO product_links AS l (product_sku, link_type, href, title, hreflang, media_type)
    VALUES (p_sku, p_type, p_href, p_title, coalesce(p_hreflang, ''),
            coalesce(p_media_type, 'text/html'))
    ON CONFLICT (product_sku, link_type, hreflang) DO UPDATE
        SET href = excluded.href, title = excluded.title,
            media_type = excluded.media_type, updated_at = now()
    RETURNING l.updated_at INTO at;
    PERFORM audit_append(p_actor, p_client, 'product.link', p_sku,
                         jsonb_build_object('link_type', p_type, 'href', p_href,
                                            'title', p_title,
                                            'hreflang', coalesce(p_hreflang, ''),
                                            'media_type', coalesce(p_media_type, 'text/html')));
    RETURN QUERY SELECT 'set'::text, at;
END $$;

-- Through the admin API: a product of a brand the identity is not limited
-- to is answered no_product (nothing written), as one that does not exist,
-- so a limited identity learns nothing of other brands' SKUs.
CREATE FUNCTION admin_product_link_set(p_token bigint, p_client inet, p_sku text, p_type text,
                                       p_href text, p_title text, p_hreflang text,
                                       p_media_type text)
RETURNS TABLE (outcome text, updated_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    who record;
    brand text;
BEGIN
    SELECT * INTO who FROM admin_identity(p_token);
    SELECT p.brand INTO brand FROM products p WHERE p.sku = p_sku;
    IF FOUND AND NOT brand_allowed(who.brand_ids, brand) THEN
        RETURN QUERY SELECT 'no_product'::text, NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM product_link_set(who.actor, p_client, p_sku, p_type, p_href,
                                                p_title, p_hreflang, p_media_type);
END $$;
