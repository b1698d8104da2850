/*
 * packing.h: the admin API of cases, pallets, distributors and shipments
 * (docs/supply-chain.md; docs/api.md, "Packing and distributors"). Each is
 * one call of api_packing() (sql/019_distributors.sql), which writes the
 * change with its audit row and answers the reply; scopes in routes.def
 * (read for the lists and a code's chain, operate for every change: a
 * warehouse's token scanning a case or a pallet activates it).
 */
#ifndef PACKCODE_SERVER_PACKING_H
#define PACKCODE_SERVER_PACKING_H

struct request;

/* GET /api/v1/admin/distributors */
void packing_route_distributors(struct request *r);
/* POST /api/v1/admin/distributors {"brand", "name", "territory": [...]} */
void packing_route_distributor_add(struct request *r);
/* POST /api/v1/admin/distributors/{id} {"name"?, "territory"?} */
void packing_route_distributor_change(struct request *r);
/* DELETE /api/v1/admin/distributors/{id} */
void packing_route_distributor_delete(struct request *r);
/* POST /api/v1/admin/shipments {"distributor", "pallets", "cases", "batches", "ranges",
 * "reference"} */
void packing_route_shipment_add(struct request *r);
/* POST /api/v1/admin/packs/{parent}/activate, /unpack, /children: a case's code or an SSCC */
void packing_route_activate(struct request *r);
void packing_route_unpack(struct request *r);
void packing_route_children(struct request *r);
/* GET /api/v1/admin/codes/{code}/chain: case, pallet, shipment, distributor */
void packing_route_chain(struct request *r);
/* POST /api/v1/admin/packs/{parent}/receive: the receipt of the shipment holding it */
void packing_route_receive(struct request *r);
/* POST /api/v1/admin/shipments/{id}/receive: the whole shipment's receipt */
void packing_route_shipment_receive(struct request *r);

#endif
