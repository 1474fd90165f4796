//! The reports page's PDF (issue 22): A4 landscape, the Noto Sans the laudo embeds (every
//! Portuguese letter prints), the totals, then the per-period and per-inspector tables with a
//! page break whenever a table runs out of room (its header repeated).

use printpdf::path::PaintMode;
use printpdf::{
    Color, IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Rect, Rgb,
};

use crate::portal::reports::{
    Grouping, Report, Row, causes_for_people, gap_label, interruption_label,
};

const FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

const PAGE_W: f32 = 297.0;
const PAGE_H: f32 = 210.0;
const MARGIN: f32 = 12.0;
const LINE: f32 = 5.0;

/// A PDF that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("PDF do relatório: {0}")]
pub struct PdfError(String);

/// Column left edges (mm) and titles of a table.
const COLUMNS: [(f32, &str); 11] = [
    (MARGIN, "Estação"),
    (MARGIN + 22.0, ""),
    (MARGIN + 70.0, "Vist."),
    (MARGIN + 84.0, "Conf."),
    (MARGIN + 98.0, "Não conf."),
    (MARGIN + 116.0, "Interr."),
    (MARGIN + 131.0, "Interrupções por causa"),
    (MARGIN + 178.0, "Lacunas de filme (§4)"),
    (MARGIN + 222.0, "Atras."),
    (MARGIN + 235.0, "Parad."),
    (MARGIN + 248.0, "OCR (§5)"),
];

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    page: u32,
    footer: String,
}

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::Rgb(Rgb::new(
        f32::from(r) / 255.0,
        f32::from(g) / 255.0,
        f32::from(b) / 255.0,
        None,
    ))
}

/// Cuts text to about `max` characters (the columns are fixed).
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

impl Writer {
    fn text(&self, text: &str, size: f32, x: f32, y: f32, bold: bool) {
        let font = if bold { &self.bold } else { &self.regular };
        self.layer.use_text(text, size, Mm(x), Mm(y), font);
    }

    fn fill(&self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        self.layer.set_fill_color(color);
        self.layer
            .add_rect(Rect::new(Mm(x), Mm(y), Mm(x + w), Mm(y + h)).with_mode(PaintMode::Fill));
        self.layer.set_fill_color(rgb(0, 0, 0));
    }

    fn footer(&self) {
        let text = format!("{} — página {}", self.footer, self.page);
        self.text(&text, 7.0, MARGIN, 6.0, false);
    }

    fn new_page(&mut self) {
        let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "relatorio");
        self.layer = self.doc.get_page(page).get_layer(layer);
        self.page += 1;
        self.y = PAGE_H - MARGIN;
        self.footer();
    }

    /// Makes room for `h` mm; `true` when a new page was started.
    fn need(&mut self, h: f32) -> bool {
        if self.y - h < MARGIN + 4.0 {
            self.new_page();
            true
        } else {
            false
        }
    }

    fn header_row(&mut self, first: &str) {
        self.fill(
            MARGIN,
            self.y - 1.6,
            PAGE_W - 2.0 * MARGIN,
            LINE,
            rgb(225, 230, 238),
        );
        for (i, (x, title)) in COLUMNS.iter().enumerate() {
            let title = if i == 1 { first } else { title };
            self.text(title, 7.5, *x + 0.5, self.y, true);
        }
        self.y -= LINE;
    }

    fn table(&mut self, title: &str, first: &str, rows: &[Row]) {
        self.need(3.0 * LINE);
        self.y -= 2.0;
        self.text(title, 11.0, MARGIN, self.y, true);
        self.y -= LINE + 1.0;
        self.header_row(first);
        if rows.is_empty() {
            self.text(
                "Nenhuma vistoria recebida neste período.",
                8.0,
                MARGIN + 0.5,
                self.y,
                false,
            );
            self.y -= LINE;
        }
        for row in rows {
            if self.need(LINE) {
                self.header_row(first);
            }
            let f = &row.figures;
            let ocr = format!(
                "{}/{} {}{}",
                f.ocr_matched,
                f.ocr_readings,
                f.ocr_text(),
                if f.below_floor() { " abaixo" } else { "" }
            );
            let cells = [
                fit(&row.station, 12),
                fit(&row.label, 30),
                f.inspections.to_string(),
                f.conforming.to_string(),
                f.non_conforming.to_string(),
                f.interrupted.to_string(),
                fit(
                    &causes_for_people(&f.interruptions, interruption_label, ", "),
                    32,
                ),
                fit(&causes_for_people(&f.film_gaps, gap_label, ", "), 30),
                f.late.to_string(),
                f.stuck.to_string(),
                ocr,
            ];
            for ((x, _), cell) in COLUMNS.iter().zip(&cells) {
                self.text(cell, 7.5, *x + 0.5, self.y, false);
            }
            self.y -= LINE;
        }
    }
}

/// Renders the report.
pub fn render(report: &Report) -> Result<Vec<u8>, PdfError> {
    let err = |e: printpdf::Error| PdfError(e.to_string());
    let station = report.station.as_deref().unwrap_or("todas as estações");
    let title = format!("Relatório de vistorias — {station}");
    let (doc, page, layer) = PdfDocument::new(&title, Mm(PAGE_W), Mm(PAGE_H), "relatorio");
    let regular = doc.add_external_font(FONT_REGULAR).map_err(err)?;
    let bold = doc.add_external_font(FONT_BOLD).map_err(err)?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        layer,
        regular,
        bold,
        y: PAGE_H - MARGIN,
        page: 1,
        footer: format!(
            "Portal Vistoria · Detran-MT · relatório de {} a {} · gerado em {}",
            report.from.format("%d/%m/%Y"),
            report.to.format("%d/%m/%Y"),
            vistoria_core::clock::station_time(report.made_at)
        ),
    };
    w.footer();
    w.text(&title, 16.0, MARGIN, w.y - 4.0, true);
    w.y -= 12.0;
    let grouping = if report.grouping == Grouping::Day {
        "dia"
    } else {
        "mês"
    };
    w.text(
        &format!(
            "Período: {} a {} (dia de recebimento na central, horário de Mato Grosso), por {grouping}.",
            report.from.format("%d/%m/%Y"),
            report.to.format("%d/%m/%Y"),
        ),
        9.0,
        MARGIN,
        w.y,
        false,
    );
    w.y -= LINE + 1.0;
    let t = &report.total;
    w.text(
        &format!(
            "Total: {} vistorias — {} conformes, {} não conformes, {} interrompidas; {} atrasadas \
             (§9); {} paradas sem verificação; OCR sem correção {} ({} de {}; mínimo 75 %, §5).",
            t.inspections,
            t.conforming,
            t.non_conforming,
            t.interrupted,
            t.late,
            t.stuck,
            t.ocr_text(),
            t.ocr_matched,
            t.ocr_readings,
        ),
        9.0,
        MARGIN,
        w.y,
        false,
    );
    w.y -= LINE;
    if report.truncated {
        w.text(
            "Atenção: o relatório parou no limite de vistorias lidas; escolha um período menor.",
            9.0,
            MARGIN,
            w.y,
            true,
        );
        w.y -= LINE;
    }
    let first = if report.grouping == Grouping::Day {
        "Dia"
    } else {
        "Mês"
    };
    w.table(&format!("Por estação e {grouping}"), first, &report.periods);
    w.table("Por vistoriador", "Vistoriador", &report.inspectors);
    w.doc.save_to_bytes().map_err(err)
}
