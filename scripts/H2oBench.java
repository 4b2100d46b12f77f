// H2O's own MOJO scorer (h2o-genmodel) on the rows of a CSV file, for scripts/h2o-bench.sh:
// the same rows Timber's compiled scorer is timed on, decoded up front the way PredictCsv
// decodes them (level names to level indices, unknown levels and NA/N/A/-/"" missing).
//
//     java -cp h2o-genmodel.jar:DIR H2oBench MODEL.zip ROWS.csv SECONDS [PREDICTIONS]
//
// With PREDICTIONS, first writes score0's result for every row there, as Timber's `predict`
// lays it out (regression: the value; two classes: p of the second; more: one per class),
// each value as the hex bits of the double, so the bench can check both sides agree.
//
// Prints one line per measurement: `RESULT <mode> <rows/s> <ns/row>`, with modes
//   score0-1t      MojoModel.score0 on one row per call, one thread (what Timber's
//                  `bench` without --batch does: one row per call, decoding untimed);
//   score0-all     the same on every core, each thread scoring all rows;
//   easypredict-1t EasyPredictModelWrapper.predict on a RowData of strings per call (what a
//                  Java service calls: cell conversion + score0 + its result objects).
// Each is measured for SECONDS after a warm-up of the same length (the JIT compiles first).

import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;

import java.io.BufferedReader;
import java.io.FileReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

public final class H2oBench {
    public static void main(String[] args) throws Exception {
        MojoModel model = MojoModel.load(args[0]);
        List<String[]> cells = new ArrayList<>();
        String[] header;
        try (BufferedReader in = new BufferedReader(new FileReader(args[1]))) {
            header = in.readLine().split(",", -1);
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                cells.add(line.split(",", -1));
            }
        }
        double seconds = Double.parseDouble(args[2]);

        // Rows as PredictCsv builds them: missing tokens skipped, the rest by column name.
        List<RowData> rowData = new ArrayList<>();
        for (String[] line : cells) {
            RowData row = new RowData();
            for (int i = 0; i < header.length && i < line.length; i++) {
                switch (line[i]) {
                    case "": case "NA": case "N/A": case "-":
                        continue;
                    default:
                        row.put(header[i], line[i]);
                }
            }
            rowData.add(row);
        }
        // The same rows as the double[] score0 takes: level indices, Java's parseDouble.
        String[] names = model.getNames();
        int nf = model.nfeatures();
        Map<String, Integer> column = new HashMap<>();
        for (int i = 0; i < header.length; i++) {
            column.put(header[i], i);
        }
        double[][] raw = new double[cells.size()][];
        for (int r = 0; r < cells.size(); r++) {
            double[] row = new double[nf];
            for (int f = 0; f < nf; f++) {
                row[f] = Double.NaN;
                Integer c = column.get(names[f]);
                Object v = c == null ? null : rowData.get(r).get(names[f]);
                if (v == null) {
                    continue;
                }
                String[] domain = model.getDomainValues(f);
                if (domain == null) {
                    row[f] = Double.parseDouble(((String) v).trim());
                } else {
                    for (int level = 0; level < domain.length; level++) {
                        if (domain[level].equals(v)) {
                            row[f] = level;
                            break;
                        }
                    }
                }
            }
            raw[r] = row;
        }
        EasyPredictModelWrapper wrapper = new EasyPredictModelWrapper(
            new EasyPredictModelWrapper.Config()
                .setModel(model)
                .setConvertUnknownCategoricalLevelsToNa(true)
                .setConvertInvalidNumbersToNa(false));

        if (args.length > 3) {
            writePredictions(model, raw, args[3]);
        }
        score0(model, raw, seconds, 1, false);
        report("score0-1t", score0(model, raw, seconds, 1, true));
        int cores = Runtime.getRuntime().availableProcessors();
        score0(model, raw, seconds, cores, false);
        report("score0-all", score0(model, raw, seconds, cores, true));
        easyPredict(wrapper, rowData, seconds);
        report("easypredict-1t", easyPredict(wrapper, rowData, seconds));
    }

    /// Rows scored and nanoseconds taken.
    private static long[] score0(MojoModel model, double[][] raw, double seconds, int threads,
                                 boolean timed) throws InterruptedException {
        AtomicLong scored = new AtomicLong();
        long budget = (long) (seconds * 1e9);
        long start = System.nanoTime();
        Thread[] workers = new Thread[threads];
        double[] sink = new double[threads];
        for (int t = 0; t < threads; t++) {
            final int id = t;
            workers[t] = new Thread(() -> {
                double[] preds = new double[model.getPredsSize()];
                double checksum = 0;
                long n = 0;
                while (System.nanoTime() - start < budget || n == 0) {
                    for (double[] row : raw) {
                        model.score0(row, preds);
                        checksum += preds[preds.length - 1];
                    }
                    n += raw.length;
                }
                scored.addAndGet(n);
                sink[id] = checksum;
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join();
        }
        long elapsed = System.nanoTime() - start;
        if (Double.isNaN(sink[0]) && timed) {
            System.err.println("NaN prediction");
        }
        return new long[] {scored.get(), elapsed};
    }

    private static long[] easyPredict(EasyPredictModelWrapper wrapper, List<RowData> rows,
                                      double seconds) throws Exception {
        long budget = (long) (seconds * 1e9);
        long start = System.nanoTime();
        long n = 0;
        int hash = 0;
        while (System.nanoTime() - start < budget || n == 0) {
            for (RowData row : rows) {
                hash += wrapper.predict(row).hashCode();
            }
            n += rows.size();
        }
        long elapsed = System.nanoTime() - start;
        if (hash == 42) {
            System.err.println();
        }
        return new long[] {n, elapsed};
    }

    private static void writePredictions(MojoModel model, double[][] raw, String path)
            throws java.io.IOException {
        int classes = model.isClassifier() ? model.getNumResponseClasses() : 1;
        double[] preds = new double[model.getPredsSize()];
        StringBuilder out = new StringBuilder();
        for (double[] row : raw) {
            model.score0(row, preds);
            int from = classes <= 1 ? 0 : classes == 2 ? 2 : 1;
            int to = classes <= 1 ? 1 : classes + 1;
            for (int i = from; i < to; i++) {
                out.append(i > from ? "," : "")
                    .append(Long.toHexString(Double.doubleToRawLongBits(preds[i])));
            }
            out.append('\n');
        }
        java.nio.file.Files.writeString(java.nio.file.Path.of(path), out);
    }

    private static void report(String mode, long[] result) {
        double rate = result[0] / (result[1] / 1e9);
        System.out.printf("RESULT %s %.0f %.1f%n", mode, rate, result[1] / (double) result[0]);
    }
}
