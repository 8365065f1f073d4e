"""A generic skincare retailer: robots.txt, a sitemap index, paginated categories and product pages.

Product pages carry their data the ways real sites do (``page.markup`` in each product file):
``jsonld-offer`` (one Offer), ``jsonld-offers`` (a list of Offers, one per size),
``jsonld-aggregate`` (an AggregateOffer with lowPrice/highPrice), ``jsonld-productgroup``
(a ProductGroup with ``hasVariant``), ``microdata`` (no JSON-LD at all) and ``opengraph``
(OpenGraph product tags plus visible HTML). The ingredient list sits in a ``<details>`` accordion,
a tab, a button accordion or plain under a heading (``page.ingredients_layout``). Pages under
``/staff-picks/`` are disallowed by robots.txt yet listed in the sitemap, to catch crawlers that
ignore robots.txt.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from serumscope.demo.catalog import CatalogShop, parse_time
from serumscope.demo.http import (
    Response,
    html_response,
    image_response,
    not_found_page,
    text_response,
)
from serumscope.demo.pages import (
    availability_url,
    description_with_ingredients,
    frame,
    json_ld,
    money,
    sitemap_index,
    sitemap_urlset,
)

PER_PAGE = 8
DISALLOWED_SECTION = "staff-picks"

ROBOTS_TXT = """User-agent: *
Disallow: /basket
Disallow: /checkout
Disallow: /search
Disallow: /{disallowed}/

Sitemap: {base}/sitemap_index.xml
"""


def page_number(query: dict[str, list[str]]) -> int:
    text = query.get("page", ["1"])[0]
    return int(text) if text.isdigit() and int(text) > 0 else 1


class RetailerShop(CatalogShop):
    platform = "retailer"

    def section(self, product: dict[str, Any]) -> str:
        return product["page"].get("section", "products")

    def url(self, product: dict[str, Any]) -> str:
        return f"{self.base_url}/{self.section(product)}/{product['slug']}"

    def currency(self, product: dict[str, Any]) -> str:
        return product.get("currency", self.config["currency"])

    def respond(self, path: str, query: dict[str, list[str]]) -> Response:
        modified = self.catalog.modified.get("retailer")
        if path == "/robots.txt":
            robots = ROBOTS_TXT.format(base=self.base_url, disallowed=DISALLOWED_SECTION)
            return text_response(robots, "text/plain", last_modified=modified)
        if path == "/sitemap_index.xml":
            return text_response(self.index_sitemap(), "application/xml", last_modified=modified)
        if path in ("/sitemap-products-1.xml", "/sitemap-products-2.xml"):
            half = int(path[-5])
            return text_response(
                self.product_sitemap(half), "application/xml", last_modified=modified
            )
        if path == "/sitemap-pages.xml":
            return text_response(self.pages_sitemap(), "application/xml", last_modified=modified)
        parts = [part for part in path.split("/") if part]
        if len(parts) == 2 and parts[0] in ("products", DISALLOWED_SECTION):
            product = self.catalog.find("retailer", parts[1])
            if product is None or self.section(product) != parts[0]:
                return not_found_page()
            page = self.product_page(product)
            return html_response(page, last_modified=parse_time(product["updated_at"]))
        if len(parts) == 2 and parts[0] == "category":
            return self.category_page(parts[1], page_number(query))
        if parts == [DISALLOWED_SECTION]:
            picks = [p for p in self.products if self.section(p) == DISALLOWED_SECTION]
            return html_response(
                self.listing_page("Staff picks", picks, None), last_modified=modified
            )
        if parts[:1] == ["media"]:
            return image_response()
        if parts == ["pages", "about"]:
            about = "<h1>About us</h1><p>An independent skincare shop since 2011.</p>"
            return html_response(frame("About us", about, shop_name=self.config["title"]))
        if path == "/":
            return html_response(self.home_page(), last_modified=modified)
        return not_found_page()

    def index_sitemap(self) -> str:
        lastmod = self.catalog.modified["retailer"].strftime("%Y-%m-%dT%H:%M:%S+00:00")
        names = ("sitemap-products-1.xml", "sitemap-products-2.xml", "sitemap-pages.xml")
        return sitemap_index([(f"{self.base_url}/{name}", lastmod) for name in names])

    def product_sitemap(self, half: int) -> str:
        middle = (len(self.products) + 1) // 2
        chosen = self.products[:middle] if half == 1 else self.products[middle:]
        return sitemap_urlset([(self.url(p), p["updated_at"][:10]) for p in chosen])

    def pages_sitemap(self) -> str:
        day = self.catalog.modified["retailer"].strftime("%Y-%m-%d")
        urls = [f"{self.base_url}/", f"{self.base_url}/pages/about"]
        urls += [f"{self.base_url}/category/{slug}/" for slug in self.config["categories"]]
        return sitemap_urlset([(url, day) for url in urls])

    def breadcrumbs(self, product: dict[str, Any]) -> list[tuple[str, str]]:
        trail = [("Home", f"{self.base_url}/")]
        category = product["page"].get("category")
        if category:
            trail.append(
                (self.config["categories"][category], f"{self.base_url}/category/{category}/")
            )
        trail.append((product["title"], self.url(product)))
        return trail

    def category_page(self, slug: str, page: int) -> Response:
        categories = self.config["categories"]
        if slug not in categories:
            return not_found_page()
        members = [
            p
            for p in self.products
            if p["page"].get("category") == slug and self.section(p) == "products"
        ]
        pages = max(-(-len(members) // PER_PAGE), 1)
        if page > pages:
            return not_found_page()
        chosen = members[(page - 1) * PER_PAGE : page * PER_PAGE]
        base = f"{self.base_url}/category/{slug}/"
        links = {}
        if page > 1:
            links["prev"] = base if page == 2 else f"{base}?page={page - 1}"
        if page < pages:
            links["next"] = f"{base}?page={page + 1}"
        title = categories[slug] + (f" (page {page} of {pages})" if pages > 1 else "")
        return html_response(
            self.listing_page(title, chosen, links),
            last_modified=self.catalog.modified.get("retailer"),
        )

    def listing_page(
        self, title: str, products: list[dict[str, Any]], links: dict[str, str] | None
    ) -> str:
        cards = "\n".join(
            f'<li class="product-card"><a href="{self.url(p)}">{escape(p["title"])}</a>'
            f' <span class="price">{money(p["variants"][0]["price"], self.currency(p))}</span></li>'
            for p in products
        )
        head = "".join(f'<link rel="{rel}" href="{href}">' for rel, href in (links or {}).items())
        pager = " ".join(
            f'<a rel="{rel}" href="{href}">{"Next" if rel == "next" else "Previous"}</a>'
            for rel, href in (links or {}).items()
        )
        body = f'<h1>{escape(title)}</h1>\n<ul class="product-grid">\n{cards}\n</ul>\n<nav class="pagination">{pager}</nav>'
        return frame(title, body, shop_name=self.config["title"], head=head)

    def home_page(self) -> str:
        categories = "".join(
            f'<li><a href="/category/{slug}/">{escape(name)}</a></li>'
            for slug, name in self.config["categories"].items()
        )
        body = (
            f"<h1>{escape(self.config['title'])}</h1><h2>Shop by category</h2><ul>{categories}</ul>"
            f'<p><a href="/{DISALLOWED_SECTION}/">Staff picks</a></p>'
        )
        return frame("Home", body, shop_name=self.config["title"])

    def offer(self, product: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
        currency = self.currency(product)
        offer: dict[str, Any] = {
            "@type": "Offer",
            "url": self.url(product),
            "price": f"{Decimal(variant['price']):.2f}",
            "priceCurrency": currency,
            "availability": availability_url(variant["available"]),
            "itemCondition": "https://schema.org/NewCondition",
        }
        if variant.get("sku"):
            offer["sku"] = variant["sku"]
        if variant["compare_at_price"]:
            offer["priceSpecification"] = {
                "@type": "UnitPriceSpecification",
                "priceType": "https://schema.org/StrikethroughPrice",
                "price": f"{Decimal(variant['compare_at_price']):.2f}",
                "priceCurrency": currency,
            }
        return offer

    def structured_data(self, product: dict[str, Any], markup: str) -> dict[str, Any]:
        variants = product["variants"]
        images = [f"{self.base_url}/media/{i['file']}" for i in product["images"]]
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": product["title"],
            "description": product.get("seo_description", product["title"]),
            "image": images,
            "brand": {"@type": "Brand", "name": product["brand"]},
            "url": self.url(product),
        }
        if product.get("gtin"):
            data["gtin13"] = product["gtin"]
        if markup == "jsonld-offer":
            data["sku"] = variants[0].get("sku", "")
            data["offers"] = self.offer(product, variants[0])
        elif markup == "jsonld-offers":
            data["offers"] = []
            for variant in variants:
                offer = self.offer(product, variant)
                offer["name"] = variant["title"]
                data["offers"].append(offer)
        elif markup == "jsonld-aggregate":
            amounts = [Decimal(v["price"]) for v in variants]
            data["offers"] = {
                "@type": "AggregateOffer",
                "lowPrice": f"{min(amounts):.2f}",
                "highPrice": f"{max(amounts):.2f}",
                "offerCount": len(variants),
                "priceCurrency": self.currency(product),
                "availability": availability_url(any(v["available"] for v in variants)),
            }
        elif markup == "jsonld-productgroup":
            data["@type"] = "ProductGroup"
            data["productGroupID"] = product["slug"]
            data["variesBy"] = ["https://schema.org/size"]
            data["hasVariant"] = [
                {
                    "@type": "Product",
                    "name": f"{product['title']} {variant['title']}",
                    "sku": variant.get("sku", ""),
                    "size": variant["title"],
                    "offers": self.offer(product, variant),
                }
                for variant in variants
            ]
        else:
            raise ValueError(f"{product['key']}: unknown page.markup {markup!r}")
        return data

    def breadcrumb_json_ld(self, product: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": n, "name": name, "item": url}
                for n, (name, url) in enumerate(self.breadcrumbs(product), start=1)
            ],
        }

    def ingredients_section(self, product: dict[str, Any], layout: str) -> tuple[str, str]:
        """Return (description block, ingredients block) for one of the layouts."""
        description = f'<div class="product-description">{product["description"].strip()}</div>'
        ingredients = product.get("ingredients")
        heading = escape(product.get("ingredients_heading", "Ingredients"))
        how_to = product.get("how_to_use")
        if layout == "plain" or not ingredients:
            return (
                f'<div class="product-description">{description_with_ingredients(product)}</div>',
                "",
            )
        if layout == "details":
            block = (
                f'<details class="product-accordion"><summary>{heading}</summary>'
                f'<div class="accordion-content"><p>{escape(ingredients)}</p></div></details>'
            )
            if how_to:
                block += (
                    '<details class="product-accordion"><summary>How to use</summary>'
                    f'<div class="accordion-content"><p>{escape(how_to)}</p></div></details>'
                )
            return description, block
        if layout == "tab":
            use_tab = '<li><a href="#tab-use">How to use</a></li>' if how_to else ""
            use_panel = (
                f'<div class="tab" id="tab-use" hidden><h3>How to use</h3><p>{escape(how_to)}</p></div>'
                if how_to
                else ""
            )
            block = (
                '<div class="tabs"><ul class="tab-nav" role="tablist">'
                '<li><a href="#tab-description">Description</a></li>'
                f'<li><a href="#tab-inci">{heading}</a></li>{use_tab}</ul>'
                f'<div class="tab" id="tab-description">{description}</div>'
                f'<div class="tab" id="tab-inci" hidden><h3>{heading}</h3>'
                f"<p>{escape(ingredients)}</p></div>{use_panel}</div>"
            )
            return "", block
        if layout == "accordion":
            block = (
                '<div class="accordion">'
                f'<button class="accordion__toggle" type="button" aria-expanded="false">{heading}</button>'
                f'<div class="accordion__panel" hidden><p>{escape(ingredients)}</p></div></div>'
            )
            return description, block
        raise ValueError(f"{product['key']}: unknown page.ingredients_layout {layout!r}")

    def price_block(self, product: dict[str, Any]) -> str:
        currency = self.currency(product)
        rows = []
        for variant in product["variants"]:
            now = money(variant["price"], currency)
            price = f'<span class="price-now">{now}</span>'
            if variant["compare_at_price"]:
                was = money(variant["compare_at_price"], currency)
                price = f'<span class="price-was">Was <del>{was}</del></span> <span class="price-now">Now {now}</span>'
            stock = "" if variant["available"] else ' <span class="stock">Out of stock</span>'
            rows.append(
                f'<li class="size-option" data-sku="{escape(variant.get("sku", ""))}" '
                f'data-price="{Decimal(variant["price"]):.2f}">'
                f'<span class="size">{escape(variant["title"])}</span> {price}{stock}</li>'
            )
        return f'<ul class="size-options">{"".join(rows)}</ul>'

    def product_page(self, product: dict[str, Any]) -> str:
        markup = product["page"].get("markup", "jsonld-offer")
        layout = product["page"].get("ingredients_layout", "details")
        description, ingredients = self.ingredients_section(product, layout)
        trail = self.breadcrumbs(product)
        images = [f"{self.base_url}/media/{i['file']}" for i in product["images"]]
        image_prop = ' itemprop="image"' if markup == "microdata" else ""
        gallery = "".join(
            f'<img src="{src}" alt="{escape(i.get("alt", ""))}"{image_prop}>'
            for src, i in zip(images, product["images"], strict=True)
        )
        head = [f'<link rel="canonical" href="{self.url(product)}">']
        if markup.startswith("jsonld"):
            head.append(json_ld(self.structured_data(product, markup)))
            head.append(json_ld(self.breadcrumb_json_ld(product)))
        if markup == "opengraph":
            first = product["variants"][0]
            og = {
                "og:type": "product",
                "og:title": product["title"],
                "og:description": product.get("seo_description", product["title"]),
                "og:url": self.url(product),
                "og:image": images[0] if images else "",
                "product:brand": product["brand"],
                "product:price:amount": f"{Decimal(first['price']):.2f}",
                "product:price:currency": self.currency(product),
                "product:availability": "instock" if first["available"] else "oos",
            }
            head += [f'<meta property="{k}" content="{escape(v)}">' for k, v in og.items() if v]
        crumbs = (
            "".join(f'<li><a href="{url}">{escape(name)}</a></li>' for name, url in trail[:-1])
            + f'<li aria-current="page">{escape(trail[-1][0])}</li>'
        )
        if markup == "microdata":
            body = self.microdata_body(product, gallery, description, ingredients)
        else:
            body = f"""<article class="product">
<div class="gallery">{gallery}</div>
<div class="product-info">
<p class="brand">{escape(product["brand"])}</p>
<h1 class="product-title">{escape(product["title"])}</h1>
{self.price_block(product)}
{description}
{ingredients}
</div>
</article>"""
        body = f'<nav class="breadcrumb" aria-label="Breadcrumb"><ol>{crumbs}</ol></nav>\n{body}'
        return frame(product["title"], body, shop_name=self.config["title"], head="\n".join(head))

    def microdata_body(
        self, product: dict[str, Any], gallery: str, description: str, ingredients: str
    ) -> str:
        currency = self.currency(product)
        offers = "".join(
            f'<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span class="size" itemprop="name">{escape(v["title"])}</span> '
            f'<span class="price-now">{money(v["price"], currency)}</span>'
            f'<meta itemprop="price" content="{Decimal(v["price"]):.2f}">'
            f'<meta itemprop="priceCurrency" content="{currency}">'
            f'<link itemprop="availability" href="{availability_url(v["available"])}">'
            f"{'' if v['available'] else '<span class=stock>Out of stock</span>'}"
            f'<meta itemprop="sku" content="{escape(v.get("sku", ""))}"></div>'
            for v in product["variants"]
        )
        return f"""<article class="product" itemscope itemtype="https://schema.org/Product">
<div class="gallery">{gallery}</div>
<div class="product-info">
<p class="brand" itemprop="brand" itemscope itemtype="https://schema.org/Brand"><span itemprop="name">{escape(product["brand"])}</span></p>
<h1 class="product-title" itemprop="name">{escape(product["title"])}</h1>
{offers}
<div itemprop="description">{description}</div>
{ingredients}
</div>
</article>"""
